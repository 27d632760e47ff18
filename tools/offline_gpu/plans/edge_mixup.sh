# The edge recipe with mixup (--mixup 0.2), for a comparison on validation with the shipped edge
# model (same recipe and seed, no mixup). A run cut off by the budget comes back with its
# checkpoints, to finish elsewhere with --resume.
# Sourced by `bash tools/offline_gpu/gpu_job.sh run tools/offline_gpu/plans/edge_mixup.sh`.
step $FER_EDGE train --arch edge --data "$DATA" --out "$RUNS/edge-mixup" --mixup 0.2
