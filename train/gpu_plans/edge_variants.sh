# Edge variants side by side on one GPU, each judged afterwards on validation with flip against
# the shipped edge model. One edge run used an H100 at about 7 ms per step (2026-11-26), a small
# part of it, so runs that share it should each go nearly as fast as one alone. They did: on an
# H200 (2026-11-27, JOB_SECONDS=580) the edge and wide nets took 1.6 s per epoch side by side,
# 2.1 s with one teacher labelling each view, 2.6 s with two. That call's edge-240 became the
# shipped model; the born-again run was cut off at epoch 212 and edge-kd-views at epoch 71, whose
# checkpoints did not fit in what the call returns (README, Results).
#
#   phase 1, together: the wide teacher (120 epochs, about 3 min alone); the edge recipe
#            stretched to 240 epochs (about 6 min alone); and a "born-again" edge net (Furlanello
#            et al. 2018), 240 epochs from scratch with the shipped edge model as its only
#            teacher, labelling every augmented view as it trains (--distill-views augmented;
#            Beyer et al. 2022: consistent and patient), a teacher pass per step that a GPU makes
#            cheap;
#   phase 2, once the wide teacher is done: the edge net from scratch distilled from the mean
#            of that teacher and the shipped edge model, trusting the teachers more than session
#            8's run did (weight 0.8 instead of 0.5, no label smoothing on top), on every
#            augmented view. The same on targets made once per face is not run here: on the CPU
#            (2026-11-26, session 8's wide teacher, 120 epochs) it reached 68.6% on validation
#            with flip, below the then shipped 70.0%; so did a 30-epoch cycle from that model
#            on those targets (README).
#
# At most three runs share the GPU at a time.
#
# Runs are not sized to fit: one cut off by the budget comes back with its checkpoints (where
# they fit in what a call returns: train/bring_back.py) and finishes here with --resume. Each
# run's output goes to RUNS/NAME.log, which comes back too.
# TEACHER_ARCH, STUDENT_ARCH and EPOCHS (default wide, edge, 120) let a CPU dry run use tiny nets;
# two here (2026-11-26, JAX on the CPU, beside a training run) went through both phases, the
# cut-offs (the runs came back with their checkpoints), a phase skipped once the budget was
# spent, and the packing; the CPU was too slow for their nets to finish an epoch's worth of
# distillation, which a separate 2-epoch tiny run with --distill-views augmented on JAX did.
# Sourced by `bash train/gpu_job.sh run train/gpu_plans/edge_variants.sh`.
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
