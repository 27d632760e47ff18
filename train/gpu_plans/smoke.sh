# A check that the GPU job works end to end: a probe, a finished tiny run and one distilled
# from it. Sourced by `bash train/gpu_job.sh run train/gpu_plans/smoke.sh`.
tiny_epochs=$(epochs_that_fit tiny 12 $(( $(seconds_left) / 2 )))
(( tiny_epochs >= 1 )) || tiny_epochs=1
step $FER_EDGE train --arch tiny --data "$DATA" --out "$RUNS/tiny" --epochs "$tiny_epochs" --seed 0
step $FER_EDGE train --arch tiny --data "$DATA" --out "$RUNS/tiny-kd" --epochs 3 --seed 0 --teacher "$RUNS/tiny/model.keras"
