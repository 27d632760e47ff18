# A minute's check that the GPU job works end to end: the tiny net, a finished run and a
# distilled one. Sourced by `bash train/gpu_job.sh run train/gpu_plans/smoke.sh`.
step $FER_EDGE train --arch tiny --data "$DATA" --out "$RUNS/tiny" --epochs 3 --seed 0
step $FER_EDGE train --arch tiny --data "$DATA" --out "$RUNS/tiny-kd" --epochs 3 --seed 0 --teacher "$RUNS/tiny/model.keras"
