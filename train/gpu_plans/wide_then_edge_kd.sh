# The wide teacher on its full recipe (120 epochs), then the edge net trained from scratch on
# its own recipe, distilled from that teacher: the route to the 70% target that this CPU cannot
# take (about 7 h for the teacher alone). Sourced by
# `bash train/gpu_job.sh run train/gpu_plans/wide_then_edge_kd.sh`; either run that the budget
# cuts off comes back with its checkpoints, to go on with --resume.
step $FER_EDGE train --arch wide --data "$DATA" --out "$RUNS/wide"
step $FER_EDGE train --arch edge --data "$DATA" --out "$RUNS/edge-kd" --teacher "$RUNS/wide/model.keras"
