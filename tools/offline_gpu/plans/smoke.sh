# End-to-end check of a GPU job: an epoch probe, a finished tiny run, and one distilled from it.
# Sourced by `bash tools/offline_gpu/gpu_job.sh run tools/offline_gpu/plans/smoke.sh`.
tiny_epochs=$(epochs_that_fit tiny 12 $(( $(seconds_left) / 2 )))
(( tiny_epochs >= 1 )) || tiny_epochs=1
step $FER_EDGE train --arch tiny --data "$DATA" --out "$RUNS/tiny" --epochs "$tiny_epochs" --seed 0
step $FER_EDGE train --arch tiny --data "$DATA" --out "$RUNS/tiny-kd" --epochs 3 --seed 0 --teacher "$RUNS/tiny/model.keras"
