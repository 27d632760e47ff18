"""Knowledge distillation: train a small model on a larger teacher's probabilities (``--teacher``).

FER2013's labels are noisy and its classes overlap (fear vs surprise, sad vs neutral); a
teacher's probabilities say how much a face looks like each emotion, which a small net learns
from better than from one hard label (Hinton et al. 2015; for FER, Cugu et al. 2019 found the
gain grows as the student shrinks). That is how the 1.5 MB edge model can learn from a net too
large to ship.

The teachers' targets are computed once per run, on the un-augmented training faces and their
mirror images (averaged, over all teachers), softened by ``distill_temperature``, and mixed with
the one-hot labels: ``target = (1 - w) * one_hot + w * teacher``. The student trains on them with
its usual cross-entropy at temperature 1 (Hinton's variant also raises the student's temperature
and scales the loss by T^2; with T = 1, the default, the two are the same). The augmented copies of a face
train on its face's target. This costs one prediction pass instead of a teacher forward pass
per step, which on a CPU would cost more than the student's own training.

With ``distill_views="augmented"`` the teachers instead label every augmented (and mixed-up)
view the student trains on, as the batches are made: Beyer et al. (2022, "Knowledge
distillation: a good teacher is patient and consistent") found that a student matches its
teacher far better when both see the same view, and that fixed targets for an augmented face
(what "faces" does) hold distillation back. It costs a teacher forward pass per step: little on
a GPU, about as much as the student's own step on a CPU for the wide teacher. The teachers
therefore compute at the run's precision (bfloat16 mixed where the hardware has it, as the student
trains): faster on a CPU, while their probabilities move by a few thousandths.

Teachers must have held out the same validation split as the student: a teacher trained on the
student's validation faces would pass their labels on, and the student's best epoch would be
chosen on faces it had learnt.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

import numpy as np

from fer_edge.contract import INPUT_SHAPE, NUM_CLASSES
from fer_edge.errors import FerEdgeError
from fer_edge.evaluate import keras_probs, load_keras_model
from fer_edge.train.config import TrainConfig
from fer_edge.train.restore import check_same_split, model_identity, restorable_record

#: Where a run keeps its teachers' targets, so ``--resume`` does not predict them again.
TARGETS_FILE = "teacher-targets.npz"


def teacher_record(model_path: str | Path, config: TrainConfig) -> dict:
    """What run.json records of one teacher (``config`` is the student's); refuses a teacher
    trained on another split."""
    model_path = Path(model_path)
    run, epoch, _ = restorable_record(model_path)
    check_same_split(model_path, run["config"], config)
    return {**model_identity(model_path), "arch": run["config"].get("arch"), "epoch": epoch, "commands": run.get("commands", [])}


def check_distillation(config: TrainConfig) -> list[dict]:
    """The teachers' records for a new run, or a one-line error for teachers it cannot learn from."""
    weight = config.recipe.distill_weight
    if config.teachers and not 0.0 < weight <= 1.0:
        raise FerEdgeError(f"--distill-weight {weight}: must be above 0 and at most 1 with --teacher")
    if weight and not config.teachers:
        raise FerEdgeError(f"--distill-weight {weight} needs at least one --teacher model")
    if config.recipe.distill_views != "faces" and not config.teachers:
        raise FerEdgeError(f"--distill-views {config.recipe.distill_views} needs at least one --teacher model")
    return [teacher_record(path, config) for path in config.teachers]


#: How each --distill-views value makes the targets, as run.json records it.
DISTILLATION_TARGETS = {
    "faces": "mean of teachers' probabilities over each training face and its mirror, softened by the temperature, mixed with one-hot labels by the weight",
    "augmented": "mean of teachers' probabilities on each augmented (and mixed-up) view as trained on, softened by the temperature, mixed with its (mixed) one-hot labels by the weight",
}


def describe_distillation(config: TrainConfig, teachers: list[dict], val_images: np.ndarray, val_labels: np.ndarray) -> dict | None:
    """run.json's record of a distilled run, with what the teachers score on the student's validation split."""
    if not teachers:
        return None
    probs = teacher_probs([t["model"] for t in teachers], val_images)
    accuracy = float((probs.argmax(axis=1) == val_labels).mean())
    print(f"distilling from {len(teachers)} teacher(s): {accuracy:.2%} on the validation split (with mirror images)")
    return {
        "teachers": teachers,
        "weight": config.recipe.distill_weight,
        "temperature": config.recipe.distill_temperature,
        "teacher_val_accuracy": round(accuracy, 4),
        "views": config.recipe.distill_views,
        "targets": DISTILLATION_TARGETS[config.recipe.distill_views],
    }


def soften(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities at a temperature: ``softmax(log(p) / T)``; T > 1 spreads them, T = 1 keeps them."""
    if temperature <= 0:
        raise FerEdgeError(f"--distill-temperature {temperature}: must be above 0")
    logits = np.log(np.clip(probs.astype(np.float64), 1e-12, None)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    soft = np.exp(logits)
    return (soft / soft.sum(axis=1, keepdims=True)).astype(np.float32)


def teacher_probs(teacher_paths: list[str], images: np.ndarray) -> np.ndarray:
    """Mean probabilities (N, 7) of all teachers over each face and its mirror image."""
    total = np.zeros((len(images), NUM_CLASSES), dtype=np.float64)
    for path in teacher_paths:
        total += keras_probs(load_keras_model(path), images, test_time_flip=True)
    return (total / len(teacher_paths)).astype(np.float32)


def mix_targets(labels: np.ndarray, teacher: np.ndarray, weight: float) -> np.ndarray:
    """Training targets: one-hot labels and the teachers' probabilities, mixed by ``weight``."""
    if not 0.0 <= weight <= 1.0:
        raise FerEdgeError(f"--distill-weight {weight}: must be between 0 and 1")
    one_hot = np.eye(NUM_CLASSES, dtype=np.float32)[labels]
    return ((1.0 - weight) * one_hot + weight * teacher).astype(np.float32)


def distillation_targets(
    folder: Path, teachers: list[dict], images: np.ndarray, temperature: float
) -> np.ndarray:
    """The teachers' softened probabilities for ``images``, cached in ``folder`` for --resume.

    The cache is keyed by the sha256 the run recorded of its teachers, the number of images and
    the temperature; computing the targets again (cache lost) refuses a teacher file that has
    changed since the run started, so a run never mixes two teachers' targets.
    """
    cache = folder / TARGETS_FILE
    key = ",".join(t["sha256"] for t in teachers) + f"|{len(images)}|{temperature:g}"
    if cache.is_file():
        with np.load(cache) as saved:
            if str(saved["key"]) == key:
                return saved["targets"]
    check_teachers_unchanged(teachers, needed_for=f"to recompute {cache.name}")
    targets = soften(teacher_probs([t["model"] for t in teachers], images), temperature)
    tmp = folder / ("tmp-" + TARGETS_FILE)
    np.savez(tmp, targets=targets, key=np.array(key))
    tmp.replace(cache)
    return targets


def check_teachers_unchanged(teachers: list[dict], needed_for: str) -> None:
    """Refuse a teacher file that is missing or has changed since the run recorded its sha256."""
    for teacher in teachers:
        path = Path(teacher["model"])
        if not path.is_file():
            raise FerEdgeError(f"{path}: teacher model not found (needed {needed_for})")
        if model_identity(path)["sha256"] != teacher["sha256"]:
            raise FerEdgeError(f"{path}: is not the teacher this run started with (its sha256 changed)")


def computing_at(model, policy: str):
    """``model`` rebuilt with the same weights and every layer but its output computing at the
    Keras dtype ``policy`` (such as ``mixed_bfloat16``); the output layer stays float32, so the
    probabilities keep their precision. Shipped models are saved computing in float32.
    """
    import keras

    if policy == "float32":
        return model
    output_layer = model.layers[-1]

    def at_policy(layer):
        config = layer.get_config()
        if layer is not output_layer:
            config["dtype"] = policy
        return layer.__class__.from_config(config)

    rebuilt = keras.models.clone_model(model, clone_function=at_policy)
    rebuilt.set_weights(model.get_weights())
    return rebuilt


def view_labeller(
    teachers: list[dict], weight: float, temperature: float, precision: str
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """For ``distill_views="augmented"``: a function from a training batch (model input, targets)
    to its targets mixed with the teachers' softened probabilities on those very faces,
    ``(1 - weight) * targets + weight * teachers``.

    The batch's own targets are its one-hot labels, blended as its faces were where mixup is on.
    The teachers see each view as it is, without a mirror image: the student's view may be one.
    They compute at the run's ``precision`` (a Keras dtype policy name, via ``computing_at``), as
    the student does; it is passed in, not read from Keras's global policy, so what the labels are
    computed at never depends on what ran before.
    The pipeline's worker threads share the teachers, one at a time: on JAX, Keras's prediction
    function donates the model's state buffers, so two threads predicting at once fail ("Buffer
    has been deleted or donated"; TensorFlow does not mind).
    """
    check_teachers_unchanged(teachers, needed_for="to label the augmented views")
    models = [computing_at(load_keras_model(t["model"]), precision) for t in teachers]
    one_at_a_time = threading.Lock()

    def label(faces: np.ndarray, targets: np.ndarray) -> np.ndarray:
        with one_at_a_time:
            probs = np.mean([np.asarray(model.predict_on_batch(faces), dtype=np.float64) for model in models], axis=0)
        return ((1.0 - weight) * targets + weight * soften(probs, temperature)).astype(np.float32)

    label(np.zeros((1, *INPUT_SHAPE), dtype=np.float32), np.zeros((1, NUM_CLASSES), dtype=np.float32))
    return label
