# The wide teacher on its recipe, then the edge net trained from scratch on its own recipe,
# distilled from the mean of that teacher and the shipped edge model (same seed, so the same
# validation split), which this CPU cannot take (about 7 h for the teacher alone). Sourced by
# `bash train/gpu_job.sh run train/gpu_plans/wide_then_edge_kd.sh`. On an H100 (2026-11-26) each
# run's 120 epochs took about 3 min; the student did not beat the shipped model (README, Results).
#
# A cut-off teacher cannot come back to a GPU machine (with the data, its checkpoints exceed
# what a call carries), so each run is sized to finish: up to the recipe's 120 epochs, as many
# as 3-epoch probes say fit (and at least 10); the teacher gets 55% of the time left, the
# student the rest. Fewer epochs make a shorter cosine schedule, recorded in each run.json.
# If the wide run does not finish, the student learns from the shipped edge model alone.
# TEACHER_ARCH and STUDENT_ARCH (default wide and edge) let a CPU dry run use tiny nets.
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
