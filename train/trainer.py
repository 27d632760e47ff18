"""``fer-edge train``: train an architecture on FER2013, checkpointing every epoch.

A CPU run takes hours and a session ends when it ends, so every epoch leaves a complete restart
point (``checkpoints/last.keras`` with optimizer state, ``checkpoints/state.json`` with the
early-stopping state) and ``--resume`` continues exactly where it stopped, with the settings the
run started with (``run.json``).

An output folder ends up with:
  model.keras      the best epoch's weights (by the recipe's monitor on the validation split), or
                   with --average-from the weight average (train/average.py), float32
  history.csv      one row per epoch (Keras CSVLogger), the training log
  curves.png       loss and accuracy, training vs validation
  metrics.json     the report of model.keras on the test split (see fer-edge eval), where
                   the data has one (see load_test_split)
  confusion.png    its confusion matrix
  run.json         architecture, recipe, seed, data, split sizes, command, Keras backend and
                   versions, wall time

It runs on whichever Keras backend ``KERAS_BACKEND`` names (train/backend.py).
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from fer_edge.contract import NUM_CLASSES, PREPROCESSING, Dataset, to_model_input
from fer_edge.dataset import MissingSplit, load_split
from fer_edge.errors import FerEdgeError, first_line
from fer_edge.evaluate import evaluate_predictions
from fer_edge.files import write_json
from fer_edge.metrics import EvalReport
from fer_edge.train.architectures import OPTIMIZERS, SCHEDULES, Recipe, get_architecture
from fer_edge.train.average import WeightAverage, averaged_model
from fer_edge.train.backend import PRECISIONS, STRATEGIES, check_option, check_strategy, resolve_precision, strategy_scope, versions
from fer_edge.train.distill import distillation_targets, mix_targets, teacher_probs, teacher_record, view_labeller
from fer_edge.train.restore import init_record, load_weights_from
from fer_edge.splits import training_indices
from fer_edge.train.pipeline import make_datasets


@dataclass
class TrainConfig:
    """Everything that defines a run; saved to run.json so ``--resume`` cannot drift from it."""

    arch: str
    recipe: Recipe
    data: str
    out: str
    seed: int = 0
    val_fraction: float = 0.1
    limit_per_class: int | None = None
    precision: str = "auto"
    strategy: str = "auto"
    command: str = ""
    init_from: str | None = None  # a shipped .keras whose weights the run starts from (fine-tuning)
    teachers: list[str] = field(default_factory=list)  # models distilled into this one (train/distill.py)

    def to_dict(self) -> dict:
        return asdict(self)

    def validate(self) -> "TrainConfig":
        """This config, or a one-line error for a value that cannot train (before anything loads)."""
        self.recipe.validate()
        if not 0 < self.val_fraction < 1:
            raise FerEdgeError(f"--val-fraction {self.val_fraction}: must be between 0 and 1 (0.1 holds out a tenth)")
        if self.limit_per_class is not None and self.limit_per_class < 1:
            raise FerEdgeError(f"--limit-per-class {self.limit_per_class}: must be at least 1")
        check_option("--precision", self.precision, PRECISIONS)
        check_option("--strategy", self.strategy, STRATEGIES)  # the backend is checked once it is known
        return self

    @classmethod
    def from_dict(cls, raw: dict) -> "TrainConfig":
        raw = dict(raw)
        raw["recipe"] = Recipe(**raw["recipe"])
        return cls(**raw)


@dataclass
class TrainResult:
    out: Path
    epochs_run: int
    best_epoch: int
    best_value: float
    report: EvalReport | None  # None where the data has no test split


def current_command() -> str:
    """How this process was started, for Python API callers (the CLI records its own command)."""
    return "python " + shlex.join(sys.argv)


def make_optimizer(recipe: Recipe, steps_per_epoch: int):
    import keras

    total = max(recipe.epochs * steps_per_epoch, 1)
    warmup = min(recipe.warmup_epochs * steps_per_epoch, total - 1)
    if recipe.schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=recipe.learning_rate * 0.1 if warmup else recipe.learning_rate,
            decay_steps=total - warmup,
            alpha=0.0,
            warmup_target=recipe.learning_rate if warmup else None,
            warmup_steps=warmup,
        )
    elif recipe.schedule == "constant":
        lr = recipe.learning_rate
    else:
        raise FerEdgeError(f"--schedule {recipe.schedule!r} is not one of {', '.join(SCHEDULES)}")
    if recipe.optimizer == "sgd":
        opt = keras.optimizers.SGD(lr, momentum=0.9, nesterov=True, weight_decay=recipe.weight_decay or None)
    elif recipe.optimizer == "adam":
        opt = keras.optimizers.Adam(lr, weight_decay=recipe.weight_decay or None)
    elif recipe.optimizer == "adamw":
        opt = keras.optimizers.AdamW(lr, weight_decay=recipe.weight_decay)
    else:
        raise FerEdgeError(f"--optimizer {recipe.optimizer!r} is not one of {', '.join(OPTIMIZERS)}")
    if recipe.weight_decay:
        # Decaying batch-norm scales and biases only fights normalisation; decay kernels alone.
        opt.exclude_from_weight_decay(var_names=["gamma", "beta", "bias"])
    return opt


#: What fit reports per epoch besides the loss (history.csv), for fresh and restored models alike.
TRAINING_METRICS = ["accuracy"]


def compile_for_training(model, recipe: Recipe, steps_per_epoch: int) -> None:
    """Attach the recipe's optimizer, schedule and loss (label smoothing) to a freshly built model."""
    import keras

    model.compile(
        optimizer=make_optimizer(recipe, steps_per_epoch),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing),
        metrics=TRAINING_METRICS,
    )


#: A run's restart point and best weights in checkpoints/, and where each waits while an epoch commits.
RESTART_POINT = "last.keras"
BEST_WEIGHTS = "best.weights.h5"


def pending_name(final: str, epoch: int) -> str:
    """``last.keras`` -> ``last.pending-epoch0007.keras``: the file as written, before it is committed."""
    stem, _, suffix = final.partition(".")
    return f"{stem}.pending-epoch{epoch:04d}.{suffix}"


def commit_checkpoints(folder: Path, state: dict) -> None:
    """Move the files of the epoch ``state`` names into place (state.json is already written)."""
    for final, epoch in ((RESTART_POINT, state.get("epoch")), (BEST_WEIGHTS, state.get("best_epoch"))):
        pending = folder / pending_name(final, int(epoch or 0))
        if pending.exists():
            os.replace(pending, folder / final)


def recover_checkpoints(folder: Path, state: dict) -> list[str]:
    """After a kill: commit the pending files of the epoch ``state`` names, and delete those of an
    epoch that never reached state.json; the names deleted."""
    commit_checkpoints(folder, state)
    dropped = sorted(path.name for path in folder.glob("*.pending-epoch*"))
    for name in dropped:
        (folder / name).unlink()
    return dropped


def reseed_each_epoch(seed: int):
    """A Keras callback that sets every random-number state of the model (dropout's) from the run's
    seed and the epoch when the epoch begins.

    A resumed run rebuilds its layers, whose seed generators then start from new seeds (they are
    not restored with the checkpoint), so its dropout masks differed from the uninterrupted run's.
    Seeded by epoch, both runs draw the same masks and reach the same weights. Defined here so
    importing this module does not import Keras.
    """
    import keras

    class ReseedEachEpoch(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            states = [v for v in self.model.non_trainable_variables if v.path.endswith("seed_generator_state")]
            for k, variable in enumerate(states):
                start = int(np.random.default_rng([seed, epoch, k]).integers(1, 2**31 - 1))
                variable.assign(np.array([start, 0], dtype=variable.dtype))

    return ReseedEachEpoch()


def write_failed(out: Path, exc: Exception) -> FerEdgeError:
    """One line for a run's file that could not be written (a full disk): what, and how to go on."""
    if "No space left on device" in str(exc):
        return FerEdgeError(f"{out}: cannot write (No space left on device); the last whole epoch is kept: free space, then fer-edge train --out {out} --resume")
    reason = getattr(exc, "strerror", None) or first_line(exc)[:120]
    return FerEdgeError(f"{out}: cannot write the epoch's checkpoint ({reason}); the last whole epoch is kept: fix the cause, then fer-edge train --out {out} --resume")


def epoch_checkpoint(folder: Path, monitor: str, patience: int, state: dict, average: WeightAverage | None = None):
    """A Keras callback that saves the best weights, a full restart point, and stops early.

    With ``average`` (``--average-from``) it also adds each epoch's weights from the average's
    first epoch on to the running mean, saved before ``state.json`` names the epoch.

    ``state`` (epoch, best value and epoch, epochs without improvement, training seconds in all
    and per epoch) is the commit point: each epoch's restart point and best weights are written
    whole under names that carry the epoch, then ``state.json`` names the epoch, then they are
    moved into place (:func:`commit_checkpoints`). A kill at any moment leaves either the old
    epoch's files and state, or the new state with its files pending, which the next ``--resume``
    moves into place (:func:`recover_checkpoints`). The class is defined here so importing this
    module does not import Keras.
    """
    import keras

    class EpochCheckpoint(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.maximize = "acc" in monitor
            self.epoch_started = time.time()

        def improved(self, value: float) -> bool:
            best = state.get("best_value")
            if best is None:
                return True
            return value > best if self.maximize else value < best

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch_started = time.time()

        def on_epoch_end(self, epoch, logs=None):
            try:
                self.save_epoch(epoch, logs)
            except (OSError, RuntimeError) as exc:  # h5py reports a full disk as a RuntimeError
                raise write_failed(folder.parent, exc) from None

        def save_epoch(self, epoch, logs):
            value = float((logs or {})[monitor])
            if self.improved(value):
                state.update(best_value=value, best_epoch=epoch + 1, wait=0)
                self.model.save_weights(folder / pending_name(BEST_WEIGHTS, epoch + 1))
            else:
                state["wait"] = state.get("wait", 0) + 1
            state["epoch"] = epoch + 1
            seconds = time.time() - self.epoch_started
            state["train_seconds"] = state.get("train_seconds", 0.0) + seconds
            # Per epoch, so a short probe run tells how many epochs fit a time budget (train/gpu_job.sh).
            state["epoch_seconds"] = [*state.get("epoch_seconds", []), round(seconds, 2)]
            if patience and state["wait"] >= patience:
                print(f"early stopping: {monitor} has not improved for {patience} epochs")
                state["stopped_early"] = True
                self.model.stop_training = True
            self.model.save(folder / pending_name(RESTART_POINT, epoch + 1))
            if average is not None and average.wants(epoch + 1):
                average.add(self.model.get_weights())
                average.save(folder, epoch + 1)
                state["averaged_epochs"] = average.count
            write_json(folder / "state.json", state)
            commit_checkpoints(folder, state)
            if average is not None:
                WeightAverage.prune(folder, epoch + 1)

    return EpochCheckpoint()


def drop_history_after(history_csv: Path, epochs_done: int) -> None:
    """Forget log rows of epochs the last checkpoint does not hold (killed while saving it)."""
    if not history_csv.is_file():
        return
    lines = history_csv.read_text().splitlines(keepends=True)
    kept = lines[:1] + [line for line in lines[1:] if line.strip() and int(line.split(",", 1)[0]) < epochs_done]
    if len(kept) != len(lines):
        history_csv.write_text("".join(kept))


def read_run_record(out: Path) -> dict:
    """A run folder's run.json, or one line on why it cannot be read (a hand edit, a cut write)."""
    run_file = out / "run.json"
    try:
        run = json.loads(run_file.read_text())
    except (OSError, ValueError) as exc:
        raise FerEdgeError(f"{run_file}: not a readable run record ({first_line(exc)}); restore it, or start a new run with another --out") from None
    if not isinstance(run, dict):
        raise FerEdgeError(f"{run_file}: not a run record (a JSON object was expected); restore it, or start a new run with another --out")
    return run


def saved_config(out: Path) -> TrainConfig:
    """The settings a run folder's run.json records, or one line on what is wrong with them."""
    run = read_run_record(out)
    try:
        return TrainConfig.from_dict(run["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise FerEdgeError(f"{out / 'run.json'}: its config is incomplete or malformed ({first_line(exc)}); restore it, or start a new run") from None


def read_state(state_file: Path) -> dict:
    """checkpoints/state.json (empty before the first epoch ends), or one line on why it cannot be read."""
    try:
        state = json.loads(state_file.read_text()) if state_file.is_file() else {}
        int(state.get("epoch", 0))
        int(state.get("best_epoch", 0) or 0)
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise FerEdgeError(f"{state_file}: not a readable restart record ({first_line(exc)}); restore it, or start a new run") from None
    return state


def prepare_run(config: TrainConfig, resume: bool, data_moved_to: str | None = None) -> tuple[TrainConfig, dict]:
    """Check a new run's output folder is free, or reopen one; on resume the saved run.json is
    authoritative, except for where the run and (``data_moved_to``) its data are now."""
    out = Path(config.out)
    run_file = out / "run.json"
    state_file = out / "checkpoints" / "state.json"
    if resume:
        state = read_state(state_file)
        if (out / "checkpoints").is_dir():
            for name in recover_checkpoints(out / "checkpoints", state):
                print(f"removed checkpoints/{name}: written by an epoch the run was stopped in")
        if not run_file.is_file() or not (out / "checkpoints" / "last.keras").is_file():
            raise FerEdgeError(f"{out}: nothing to resume (no run.json and checkpoints/last.keras); drop --resume")
        # The run lives where it is now: a run folder may have been moved or copied.
        config = replace(saved_config(out), out=str(out))
        if data_moved_to:
            config = replace(config, data=data_moved_to)
        drop_history_after(out / "history.csv", int(state.get("epoch", 0)))
        return config, state
    checkpoints = out / "checkpoints"
    if (checkpoints / "last.keras").exists() or (checkpoints / "state.json").exists() or any(checkpoints.glob("*.pending-epoch*")):
        raise FerEdgeError(f"{out}: already holds a run; add --resume to continue it, or choose another --out")
    return config, {}  # train() makes the folder once data and teachers have loaded


#: run.json's record of the epochs the learning-rate schedule was built for.
SCHEDULE_EPOCHS = "schedule_epochs"


def load_restart_point(out: Path):
    """``checkpoints/last.keras`` with its optimizer, or one line on why it does not load here.

    Checkpoints made on TensorFlow or JAX load on either; PyTorch saves its optimizer as a
    class of its own backend, so a run started on PyTorch resumes on PyTorch.
    """
    import keras

    path = out / "checkpoints" / "last.keras"
    try:
        model = keras.models.load_model(path, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a file it cannot rebuild
        trained_on = read_run_record(out).get("versions", {}).get("keras_backend", "tensorflow")
        here = keras.backend.backend()
        if trained_on == here:  # the right backend already: the file itself is at fault
            raise FerEdgeError(
                f"{path}: cannot load this restart point ({first_line(exc)}); it was saved on {here}, the backend in use, "
                "so the file is damaged: continue from a shipped model with --restore-from, or start the run again"
            ) from None
        raise FerEdgeError(
            f"{path}: cannot load this restart point on Keras's {here} backend ({first_line(exc)}); "
            f"the run was trained on {trained_on}: resume it there (KERAS_BACKEND={trained_on})"
        ) from None
    # The file also holds the compile settings its backend chose: JAX saves jit_compile=True,
    # which TensorFlow on a CPU obeys with XLA: the edge net's epochs took 185 s on a 2-vCPU x86_64 VM, and 112 s
    # once compiled again. Compiling again with the restored optimizer (its state and schedule intact) and
    # loss lets this backend choose, as for a fresh run.
    model.compile(optimizer=model.optimizer, loss=model.loss, metrics=TRAINING_METRICS)
    return model


def check_resume_epochs(out: Path, config: TrainConfig, epochs: int) -> None:
    """Refuse ``--resume --epochs`` past a cosine schedule's end: its learning rate is zero there.

    The schedule is saved with the optimizer in checkpoints/last.keras, built for the epochs the
    run started with (run.json's ``schedule_epochs``; older runs: their saved epoch cap), so more
    epochs would train at learning rate 0. A longer run is a new cycle from the trained weights.
    """
    if epochs < 1:
        raise FerEdgeError(f"--epochs {epochs}: must be at least 1")
    if config.recipe.schedule != "cosine":
        return
    run = read_run_record(out)
    length = int(run.get(SCHEDULE_EPOCHS) or config.recipe.epochs)
    if epochs > length:
        raise FerEdgeError(
            f"--epochs {epochs}: {out}'s cosine schedule ends at epoch {length}, where its learning rate reaches 0; "
            f"train a further cycle instead: fer-edge train --init-from {out / 'model.keras'} --epochs N --out NEW"
        )


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


def train(
    config: TrainConfig,
    *,
    resume: bool = False,
    resume_epochs: int | None = None,
    data_moved_to: str | None = None,
    verbose: int | str = "auto",
) -> TrainResult:
    """Train (or resume) a run and write the output folder described in this module's docstring.

    ``resume_epochs`` changes a resumed run's epoch cap: more to extend a constant-rate run (a
    cosine schedule cannot be lengthened: :func:`check_resume_epochs`), or at most the epochs
    already done to stop there and export the best model so far. ``data_moved_to`` is where a resumed run's data is now.

    ``config.command`` of the call is recorded in run.json's ``commands`` (the first command and
    every ``--resume`` that continued it), so the sidecar can say exactly how the model was made.
    """
    command = config.command or current_command()
    if not resume:
        config.validate()
    # Checked before the run folder exists, so a refused --init-from or --teacher leaves nothing behind.
    started_from = init_record(config.init_from, config) if config.init_from and not resume else None
    teachers = check_distillation(config) if not resume else None
    config, state = prepare_run(config, resume, data_moved_to)
    out = Path(config.out)
    if resume and resume_epochs is not None and resume_epochs != config.recipe.epochs:
        check_resume_epochs(out, config, resume_epochs)
        config.recipe = config.recipe.overridden(epochs=resume_epochs)
    arch = get_architecture(config.arch)
    recipe = config.recipe

    import keras

    check_strategy(config.strategy)  # before data loads: mirrored needs the TensorFlow backend
    keras.utils.set_random_seed(config.seed + state.get("epoch", 0))
    precision = resolve_precision(config.precision)
    keras.mixed_precision.set_global_policy(precision)

    full = load_split(config.data, "train")
    test = load_test_split(config.data)
    train_idx, val_idx = training_indices(
        full.labels, val_fraction=config.val_fraction, seed=config.seed, limit_per_class=config.limit_per_class
    )
    steps_per_epoch = len(train_idx) // recipe.batch_size
    if steps_per_epoch == 0:
        raise FerEdgeError(f"--batch-size {recipe.batch_size} is larger than the {len(train_idx)} training images")
    if not resume:
        distillation = describe_distillation(config, teachers, full.images[val_idx], full.labels[val_idx])
    else:
        distillation = read_run_record(out).get("distillation")
    # Made only now, so bad --data or a teacher that fails to load leaves no empty run folder.
    (out / "checkpoints").mkdir(parents=True, exist_ok=True)
    train_targets = label_views = None
    if distillation and recipe.distill_views == "augmented":
        label_views = view_labeller(distillation["teachers"], recipe.distill_weight, recipe.distill_temperature, precision)
    elif distillation:
        soft = distillation_targets(out / "checkpoints", distillation["teachers"], full.images[train_idx], recipe.distill_temperature)
        train_targets = mix_targets(full.labels[train_idx], soft, recipe.distill_weight)
    train_batches, validation = make_datasets(
        full, train_idx, val_idx, batch_size=recipe.batch_size, augment=recipe.augment, mixup=recipe.mixup,
        seed=config.seed, first_epoch=int(state.get("epoch", 0)), train_targets=train_targets, label_views=label_views,
    )  # fmt: skip

    if not resume:
        write_json(
            out / "run.json",
            {
                "config": config.to_dict(),
                "precision": precision,
                "preprocessing": PREPROCESSING,
                "data": {
                    "source": str(Path(config.data).resolve()),
                    "train_images": int(len(train_idx)),
                    "val_images": int(len(val_idx)),
                    "val_split": f"stratified {config.val_fraction:g} of train/, seed {config.seed}",
                    "train_class_counts": np.bincount(full.labels[train_idx], minlength=NUM_CLASSES).tolist(),
                },
                "versions": versions(),
                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                # The optimizer's schedule is fixed now; --resume --epochs cannot lengthen it.
                SCHEDULE_EPOCHS: recipe.epochs,
                # A fine-tuned model is made by its starting model's commands, then this one.
                "commands": [*(started_from["training"].get("commands", []) if started_from else []), command],
                **({"init_from": started_from} if started_from else {}),
                **({"distillation": distillation} if distillation else {}),
            },
        )

    with strategy_scope(config.strategy):
        if resume:
            model = load_restart_point(out)
            if recipe.weight_decay:
                model.optimizer.exclude_from_weight_decay(var_names=["gamma", "beta", "bias"])
            print(f"resuming {out} after epoch {state.get('epoch', 0)} of {recipe.epochs}")
        else:
            model = arch.build()
            if started_from:
                load_weights_from(model, Path(config.init_from), config.arch)
            compile_for_training(model, recipe, steps_per_epoch)
            print(
                f"{arch.name}: {model.count_params():,} parameters, Keras backend {keras.backend.backend()}, precision {precision}, "
                f"{len(train_idx)} train / {len(val_idx)} val images"
            )
    if resume:  # recorded once the restart point has loaded
        run = read_run_record(out)
        run["commands"] = [*run.get("commands", []), command]
        run["config"] = config.to_dict()  # where the run lives now, and its epoch cap
        # Each continuation's machine and software: a run cut off on a GPU machine and finished on
        # a CPU machine trained on both, and its training time is reported per machine.
        run["resumed"] = [
            *run.get("resumed", []),
            {
                "after_epoch": int(state.get("epoch", 0)),
                "train_seconds_before": round(float(state.get("train_seconds", 0.0)), 1),
                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "versions": versions(),
            },
        ]
        write_json(out / "run.json", run)

    average = None
    if recipe.average_from:
        average = WeightAverage.load(out / "checkpoints", recipe.average_from, int(state.get("epoch", 0)))
    callbacks = [
        reseed_each_epoch(config.seed),
        keras.callbacks.CSVLogger(str(out / "history.csv"), append=resume),
        epoch_checkpoint(out / "checkpoints", recipe.monitor, recipe.patience, state, average),
    ]
    initial_epoch = int(state.get("epoch", 0))
    try:
        if initial_epoch < recipe.epochs and not state.get("stopped_early"):
            if verbose == "auto":
                verbose = 1 if sys.stdout.isatty() else 2
            model.fit(
                train_batches, steps_per_epoch=train_batches.steps_per_epoch, shuffle=False,
                validation_data=validation, validation_batch_size=max(recipe.batch_size, 256),
                epochs=recipe.epochs, initial_epoch=initial_epoch, callbacks=callbacks, verbose=verbose,
            )  # fmt: skip
        train_faces = full.images[train_idx] if average is not None else None  # the average's batch-norm pass
        return finish_run(config, state, test, average, train_faces, (full.images[val_idx], full.labels[val_idx]))
    except OSError as exc:  # a full disk (or a pulled drive) while writing the run's files
        raise write_failed(out, exc) from None


def load_test_split(data: str) -> Dataset | None:
    """The test split the finished run is reported on, or ``None`` where the data has none.

    Data without it (a CSV of Training rows only, such as the one an offline GPU machine gets
    from train/carry.py) still trains; the report is then made where the test split is.
    """
    try:
        return load_split(data, "test")
    except MissingSplit as exc:
        print(f"note: {exc}: the run will end without metrics.json and confusion.png; report it later with fer-edge eval")
        return None


def validation_scores(model, recipe: Recipe, validation: tuple[np.ndarray, np.ndarray]) -> dict[str, float]:
    """``val_loss`` and ``val_accuracy`` of a float32 model as training computes them, and the
    accuracy with each face averaged with its mirror image, as the shipped models run."""
    import keras

    from fer_edge.evaluate import keras_probs

    images, labels = validation
    probs = keras_probs(model, images, batch_size=512)
    onehot = keras.utils.to_categorical(labels, NUM_CLASSES)
    loss = keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing)(onehot, probs)
    flipped = keras_probs(model, images, test_time_flip=True, batch_size=512)
    return {
        "val_loss": float(keras.ops.convert_to_numpy(loss)),
        "val_accuracy": float((probs.argmax(axis=1) == labels).mean()),
        "val_accuracy_with_flip": float((flipped.argmax(axis=1) == labels).mean()),
    }


def score_average(config: TrainConfig, best_model, average: WeightAverage, train_faces: np.ndarray, validation) -> tuple[object, dict]:
    """The averaged model, which a run with ``--average-from`` exports, and run.json's record of it.

    As in the method (and PyTorch's ``torch.optim.swa_utils``), the average is the run's result.
    The best single epoch is scored beside it, the same way (float32, with and without mirror
    images), and recorded, so whether the average is worth shipping stays a decision made on
    validation, in the open; its weights stay in ``checkpoints/best.weights.h5``.
    """
    import keras

    model = averaged_model(config.arch, average, train_faces, seed=config.seed)
    scores = {"average": validation_scores(model, config.recipe, validation), "best_epoch": validation_scores(best_model, config.recipe, validation)}
    last = average.start_epoch + average.count - 1

    def summary(name: str) -> str:
        return f"validation accuracy {scores[name]['val_accuracy']:.2%}, with flip {scores[name]['val_accuracy_with_flip']:.2%}, loss {scores[name]['val_loss']:.4f}"

    print(f"model.keras: the weight average of epochs {average.start_epoch}-{last} ({summary('average')}); best single epoch: {summary('best_epoch')}")
    record = {
        "epochs": [average.start_epoch, last],
        "batch_norm": f"statistics recomputed over the {len(train_faces)} training faces (keras {keras.__version__})",
        "validation": {name: {k: round(v, 4) for k, v in value.items()} for name, value in scores.items()},
    }
    return model, record


def finish_run(
    config: TrainConfig,
    state: dict,
    test: Dataset | None,
    average: WeightAverage | None = None,
    train_faces: np.ndarray | None = None,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
) -> TrainResult:
    """Export the best epoch's weights (with ``--average-from``: the weight average) as a float32
    model.keras, and report it on the test split (if the data has one)."""
    import keras

    from fer_edge.plots import plot_confusion, plot_history

    out = Path(config.out)
    keras.mixed_precision.set_global_policy("float32")
    model = get_architecture(config.arch).build()
    model.load_weights(out / "checkpoints" / "best.weights.h5")
    averaged = None
    if average is not None and average.count:
        model, averaged = score_average(config, model, average, train_faces, validation)
    tmp = out / "model.tmp.keras"
    model.save(tmp)
    os.replace(tmp, out / "model.keras")

    plot_history(
        out / "history.csv", out / "curves.png", title=f"{config.arch} (seed {config.seed})",
        average=averaged["validation"]["average"] if averaged else None,
    )  # fmt: skip
    report = None
    if test is not None:
        probs = model.predict(to_model_input(test.images), batch_size=512, verbose=0)
        report = evaluate_predictions(probs, test, model=str(out / "model.keras"))
        write_json(out / "metrics.json", {"split": test.split, **report.to_dict()})
        plot_confusion(report, out / "confusion.png")

    run = read_run_record(out)
    run.update(
        finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        epochs_run=int(state.get("epoch", 0)),
        best_epoch=int(state.get("best_epoch", 0)),
        best_monitor={config.recipe.monitor: state.get("best_value")},
        stopped_early=bool(state.get("stopped_early", False)),
        train_seconds=round(float(state.get("train_seconds", 0.0)), 1),
    )
    if averaged:
        run["weight_average"] = averaged
    write_json(out / "run.json", run)
    if report is not None:
        print(report.table())
    return TrainResult(out, int(state.get("epoch", 0)), int(state.get("best_epoch", 0)), float(state.get("best_value") or 0.0), report)
