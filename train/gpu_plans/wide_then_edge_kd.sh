# The wide teacher on its recipe, then the edge net trained from scratch on its own recipe,
# distilled from that teacher: the route to the 70% target that this CPU cannot take (about 7 h
# for the teacher alone). Sourced by `bash train/gpu_job.sh run train/gpu_plans/wide_then_edge_kd.sh`.
#
# A cut-off teacher cannot come back to a GPU machine (with the data, its checkpoints exceed
# what a call carries), so each run is sized to finish: up to the recipe's 120 epochs, as many
# as 3-epoch probes say fit (and at least 10); the teacher gets 55% of the time left, the
# student the rest.
# Fewer epochs make a shorter cosine schedule, recorded in each run.json.
wide_epochs=$(epochs_that_fit wide 120 $(( $(seconds_left) * 55 / 100 )))
if (( wide_epochs >= 10 )); then
    step $FER_EDGE train --arch wide --data "$DATA" --out "$RUNS/wide" --epochs "$wide_epochs"
fi
if [ -f "$RUNS/wide/model.keras" ]; then
    edge_epochs=$(epochs_that_fit edge 120 "$(seconds_left)")
    if (( edge_epochs >= 10 )); then
        step $FER_EDGE train --arch edge --data "$DATA" --out "$RUNS/edge-kd" --epochs "$edge_epochs" --teacher "$RUNS/wide/model.keras"
    fi
fi
