# An ensemble of wide teachers on the shipped edge model's validation split (--seed 0), each
# with its own initial weights, batches and dropout (--init-seed 1-4), side by side; then the
# edge net distilled from their mean with the shipped edge model on every augmented view, twice
# --epochs long, its weights averaged over the last quarter. A run cut off by the budget comes
# back with its checkpoints where they fit (bring_back.py) and finishes elsewhere with --resume.
# TEACHER_ARCH, STUDENT_ARCH, EPOCHS and TEACHERS (default wide, edge, 120, 4) let a CPU dry run
# use tiny nets.
# Sourced by `bash tools/offline_gpu/gpu_job.sh run tools/offline_gpu/plans/teacher_ensemble.sh`.
teacher_arch=${TEACHER_ARCH:-wide} student_arch=${STUDENT_ARCH:-edge} epochs=${EPOCHS:-120} count=${TEACHERS:-4}
# JAX takes 75% of a GPU's memory per process unless told otherwise; the teachers share it.
export XLA_PYTHON_CLIENT_MEM_FRACTION=0.2  # of its memory each

for k in $(seq 1 "$count"); do
    logged "$teacher_arch-i$k" $FER_EDGE train --arch "$teacher_arch" --data "$DATA" --seed 0 --init-seed "$k" \
        --out "$RUNS/$teacher_arch-i$k" --epochs "$epochs" &
done
wait

teachers=(--teacher models/edge/edge.keras)
for k in $(seq 1 "$count"); do
    [ -f "$RUNS/$teacher_arch-i$k/model.keras" ] && teachers+=(--teacher "$RUNS/$teacher_arch-i$k/model.keras")
done
student_epochs=$(( 2 * epochs ))
logged "$student_arch-ensemble-kd" $FER_EDGE train --arch "$student_arch" --data "$DATA" --seed 0 \
    --out "$RUNS/$student_arch-ensemble-kd" --epochs "$student_epochs" "${teachers[@]}" \
    --distill-weight 0.8 --label-smoothing 0 --distill-views augmented --average-from $(( student_epochs * 3 / 4 ))
