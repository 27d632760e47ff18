# A born-again edge net of twice --epochs taught by the shipped edge model, beside the wide
# teacher; then the edge student taught by both on every augmented view. A student cut off near
# its end comes back with its checkpoints and the wide model it needs to resume (bring_back.py)
# and finishes elsewhere with --resume. TEACHER_ARCH, STUDENT_ARCH and EPOCHS (default wide,
# edge, 120) let a CPU dry run use tiny nets.
# Sourced by `bash tools/offline_gpu/gpu_job.sh run tools/offline_gpu/plans/edge_kd_views.sh`.
teacher_arch=${TEACHER_ARCH:-wide} student_arch=${STUDENT_ARCH:-edge} epochs=${EPOCHS:-120}
# JAX takes 75% of a GPU's memory per process unless told otherwise; two or three share it.
export XLA_PYTHON_CLIENT_MEM_FRACTION=0.3  # of its memory each
edge=($FER_EDGE train --arch "$student_arch" --data "$DATA")
per_view=(--distill-weight 0.8 --label-smoothing 0 --distill-views augmented)

logged edge-born-again-2 "${edge[@]}" --out "$RUNS/edge-born-again-2" --epochs $(( 2 * epochs )) \
    --teacher models/edge/edge.keras "${per_view[@]}" &
logged "$teacher_arch" $FER_EDGE train --arch "$teacher_arch" --data "$DATA" --out "$RUNS/$teacher_arch" --epochs "$epochs"

teachers=(--teacher models/edge/edge.keras)
[ -f "$RUNS/$teacher_arch/model.keras" ] && teachers+=(--teacher "$RUNS/$teacher_arch/model.keras")
logged edge-kd-views "${edge[@]}" --out "$RUNS/edge-kd-views" --epochs "$epochs" "${teachers[@]}" "${per_view[@]}" &
wait
