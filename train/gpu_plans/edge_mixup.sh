# The edge recipe with mixup (--mixup 0.2), one run of the full 120 epochs from scratch, for a
# comparison on validation with the shipped edge model (same recipe and seed, no mixup). No probe:
# on an H100 an edge epoch takes about 1.5 s after a 20 s compile (2026-11-26), and a run cut off
# by the budget comes back with its checkpoints, to finish here with --resume.
# Sourced by `bash train/gpu_job.sh run train/gpu_plans/edge_mixup.sh`.
step $FER_EDGE train --arch edge --data "$DATA" --out "$RUNS/edge-mixup" --mixup 0.2
