# The follow-up to edge_variants.sh's call on an H200 (2026-11-27). There the edge net distilled
# from scratch with two teachers labelling every augmented view (the wide net trained in the same
# call and the edge model then shipped; --distill-weight 0.8 --label-smoothing 0) was ahead of the
# 120-epoch edge runs recorded (68.1% on validation over epochs 61-70, against 67.5% for the plain
# recipe and 67.9% for the born-again run) when the budget cut it off at epoch 71, and its
# checkpoints did not fit in what the call returned. So this plan runs it again beside fewer runs:
#
#   phase 1, together: the wide teacher (120 epochs, 229 s there beside three runs), and a second
#            born-again generation, 240 epochs, taught by the shipped edge model (since
#            2026-11-27 the 240-epoch one, 70.5% on validation with flip) on every augmented
#            view; the first generation, taught by the 120-epoch model, led the plain 240-epoch
#            run on validation in every block of ten epochs;
#   phase 2, once the wide teacher is done: the edge student, 120 epochs, taught by the wide
#            net and the shipped edge model on every augmented view (2.6 s per epoch there).
#
# The student may be cut off near its end: it comes back with its checkpoints and the wide model
# it needs to resume (about 40 MB, within what train/bring_back.py returns), and finishes here
# with --resume (about 190 s per epoch on this 2-core CPU). Judge each on validation with flip
# against the shipped model (README, Results). TEACHER_ARCH, STUDENT_ARCH and EPOCHS (default
# wide, edge, 120) let a CPU dry run use tiny nets: one here (2026-11-27, TensorFlow on the CPU,
# EPOCHS=2) finished all three runs, the student with both teachers, and packed them.
# Sourced by `bash train/gpu_job.sh run train/gpu_plans/edge_kd_views.sh`.
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
