# The wide teacher on its recipe, then the edge net trained from scratch and distilled from the
# mean of that teacher and the shipped edge model (same seed, so the same validation split).
#
# A cut-off teacher cannot go back to a machine that cannot carry its checkpoints with the data,
# so each run is sized to finish: up to the recipe's 120 epochs, as many as 3-epoch probes say
# fit (and at least 10); the teacher gets 55% of the time left, the student the rest. Fewer
# epochs make a shorter cosine schedule, recorded in each run.json. If the wide run does not
# finish, the student learns from the shipped edge model alone. TEACHER_ARCH and STUDENT_ARCH
# (default wide and edge) let a CPU dry run use tiny nets.
# Sourced by `bash tools/offline_gpu/gpu_job.sh run tools/offline_gpu/plans/wide_then_edge_kd.sh`.
teacher_arch=${TEACHER_ARCH:-wide} student_arch=${STUDENT_ARCH:-edge}
teacher_epochs=$(epochs_that_fit "$teacher_arch" 120 $(( $(seconds_left) * 55 / 100 )))
if (( teacher_epochs == 0 )) && [ "$KERAS_BACKEND" = jax ]; then
    # A probe that failed on JAX (say, a Keras/JAX version clash there): try PyTorch once.
    echo "the $teacher_arch probe failed on JAX; switching to KERAS_BACKEND=torch"
    export KERAS_BACKEND=torch
    teacher_epochs=$(epochs_that_fit "$teacher_arch" 120 $(( $(seconds_left) * 55 / 100 )))
fi
if (( teacher_epochs >= 10 )); then
    step $FER_EDGE train --arch "$teacher_arch" --data "$DATA" --out "$RUNS/$teacher_arch" --epochs "$teacher_epochs"
fi
teachers=(--teacher models/edge/edge.keras)
[ -f "$RUNS/$teacher_arch/model.keras" ] && teachers+=(--teacher "$RUNS/$teacher_arch/model.keras")
student_epochs=$(epochs_that_fit "$student_arch" 120 "$(seconds_left)")
if (( student_epochs >= 10 )); then
    step $FER_EDGE train --arch "$student_arch" --data "$DATA" --out "$RUNS/$student_arch-kd" --epochs "$student_epochs" "${teachers[@]}"
fi
