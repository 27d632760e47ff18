# Edge variants side by side on one GPU (an edge run uses a small part of a modern GPU), each to
# be judged afterwards on validation with test-time flip against the shipped edge model:
#
#   phase 1, together: the wide teacher (--epochs); the edge recipe stretched to twice --epochs;
#            a "born-again" edge net (Furlanello et al. 2018) of the same length with the shipped
#            edge model as its only teacher, labelling every augmented view as it trains
#            (--distill-views augmented; Beyer et al. 2022);
#   phase 2, once the wide teacher is done: the edge net distilled from that teacher and the
#            shipped edge model, on every augmented view.
#
# At most three runs share the GPU at a time. A run cut off by the budget comes back with its
# checkpoints where they fit (bring_back.py) and finishes elsewhere with --resume. Each run's
# output goes to RUNS/NAME.log, which comes back too. TEACHER_ARCH, STUDENT_ARCH and EPOCHS
# (default wide, edge, 120) let a CPU dry run use tiny nets.
# Sourced by `bash tools/offline_gpu/gpu_job.sh run tools/offline_gpu/plans/edge_variants.sh`.
teacher_arch=${TEACHER_ARCH:-wide} student_arch=${STUDENT_ARCH:-edge} epochs=${EPOCHS:-120}
# JAX takes 75% of a GPU's memory per process unless told otherwise; three processes share it.
export XLA_PYTHON_CLIENT_MEM_FRACTION=0.2  # of its memory each
edge=($FER_EDGE train --arch "$student_arch" --data "$DATA")

distil=(--distill-weight 0.8 --label-smoothing 0)
logged edge-240 "${edge[@]}" --out "$RUNS/edge-240" --epochs $(( 2 * epochs )) &
logged edge-born-again "${edge[@]}" --out "$RUNS/edge-born-again" --epochs $(( 2 * epochs )) \
    --teacher models/edge/edge.keras "${distil[@]}" --distill-views augmented &
logged "$teacher_arch" $FER_EDGE train --arch "$teacher_arch" --data "$DATA" --out "$RUNS/$teacher_arch" --epochs "$epochs"

teachers=(--teacher models/edge/edge.keras)
[ -f "$RUNS/$teacher_arch/model.keras" ] && teachers+=(--teacher "$RUNS/$teacher_arch/model.keras")
logged edge-kd-views "${edge[@]}" --out "$RUNS/edge-kd-views" --epochs "$epochs" "${teachers[@]}" "${distil[@]}" --distill-views augmented &
wait
