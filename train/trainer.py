"""``fer-edge train``: train an architecture on FER2013, checkpointing every epoch.

A CPU run takes hours and may be stopped at any time, so every epoch leaves a complete restart
point and ``--resume`` continues exactly where it stopped, with the settings the run started
with. What a run folder holds is described in train/run_folder.py; the settings in
train/config.py. It runs on whichever Keras backend ``KERAS_BACKEND`` names (train/backend.py).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from fer_edge.contract import NUM_CLASSES, PREPROCESSING
from fer_edge.dataset import load_split
from fer_edge.errors import FerEdgeError, first_line
from fer_edge.train.architectures import get_architecture
from fer_edge.train.average import WeightAverage
from fer_edge.train.backend import check_strategy, resolve_precision, strategy_scope, versions
from fer_edge.train.callbacks import epoch_checkpoint, reseed_each_epoch
from fer_edge.train.config import TrainConfig, current_command
from fer_edge.train.distill import check_distillation, describe_distillation, distillation_targets, mix_targets, view_labeller
from fer_edge.train.export import TrainResult, finish_run, load_test_split
from fer_edge.train.optimizer import TRAINING_METRICS, compile_for_training, exclude_norms_from_decay
from fer_edge.train.pipeline import make_datasets
from fer_edge.train.restore import init_record, load_weights_from
from fer_edge.train.run_folder import SCHEDULE_EPOCHS, RunFolder, prepare_run


def load_restart_point(out: Path):
    """``checkpoints/last.keras`` with its optimizer, or one line on why it does not load here.

    Checkpoints made on TensorFlow or JAX load on either; PyTorch saves its optimizer as a
    class of its own backend, so a run started on PyTorch resumes on PyTorch.
    """
    import keras

    run = RunFolder(out)
    path = run.restart_point
    try:
        model = keras.models.load_model(path, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a file it cannot rebuild
        trained_on = run.read_run_record().get("versions", {}).get("keras_backend", "tensorflow")
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
    # which TensorFlow on a CPU obeys with XLA, much slower for these nets (benchmarks/README.md).
    # Compiling again with the restored optimizer (its state and schedule intact) and loss lets
    # this backend choose, as for a fresh run.
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
    run = RunFolder(out)
    length = int(run.read_run_record().get(SCHEDULE_EPOCHS) or config.recipe.epochs)
    if epochs > length:
        raise FerEdgeError(
            f"--epochs {epochs}: {out}'s cosine schedule ends at epoch {length}, where its learning rate reaches 0; "
            f"train a further cycle instead: fer-edge train --init-from {run.model} --epochs N --out NEW"
        )


def train(
    config: TrainConfig,
    *,
    resume: bool = False,
    resume_epochs: int | None = None,
    data_moved_to: str | None = None,
    verbose: int | str = "auto",
) -> TrainResult:
    """Train (or resume) a run and write the output folder described in train/run_folder.py.

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
    run = RunFolder(out)
    if resume and resume_epochs is not None and resume_epochs != config.recipe.epochs:
        check_resume_epochs(out, config, resume_epochs)
        config.recipe = config.recipe.overridden(epochs=resume_epochs)
    arch = get_architecture(config.arch)
    recipe = config.recipe

    import keras

    check_strategy(config.strategy)  # before data loads: mirrored needs the TensorFlow backend
    keras.utils.set_random_seed(config.training_seed + state.get("epoch", 0))
    precision = resolve_precision(config.precision)
    keras.mixed_precision.set_global_policy(precision)

    full = load_split(config.data, "train")
    test = load_test_split(config.data)
    train_idx, val_idx = config.split_indices(full.labels)
    if not len(val_idx):
        raise FerEdgeError(f"--val-fraction {config.val_fraction:g}: holds out no image of the {len(train_idx)} used; raise it (0.1 holds out a tenth)")
    steps_per_epoch = len(train_idx) // recipe.batch_size
    if steps_per_epoch == 0:
        raise FerEdgeError(f"--batch-size {recipe.batch_size} is larger than the {len(train_idx)} training images")
    if not resume:
        distillation = describe_distillation(config, teachers, full.images[val_idx], full.labels[val_idx])
    else:
        distillation = run.read_run_record().get("distillation")
    # Made only now, so bad --data or a teacher that fails to load leaves no empty run folder.
    run.checkpoints.mkdir(parents=True, exist_ok=True)
    train_targets = label_views = None
    if distillation and recipe.distill_views == "augmented":
        label_views = view_labeller(distillation["teachers"], recipe.distill_weight, recipe.distill_temperature, precision)
    elif distillation:
        soft = distillation_targets(run.checkpoints, distillation["teachers"], full.images[train_idx], recipe.distill_temperature)
        train_targets = mix_targets(full.labels[train_idx], soft, recipe.distill_weight)
    train_batches, validation = make_datasets(
        full, train_idx, val_idx, batch_size=recipe.batch_size, augment=recipe.augment, mixup=recipe.mixup,
        seed=config.training_seed, first_epoch=int(state.get("epoch", 0)), train_targets=train_targets, label_views=label_views,
    )  # fmt: skip

    if not resume:
        run.write_run_record(
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
                exclude_norms_from_decay(model.optimizer)
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
        record = run.read_run_record()
        record["commands"] = [*record.get("commands", []), command]
        record["config"] = config.to_dict()  # where the run lives now, and its epoch cap
        # Each continuation's machine and software: a run cut off on a GPU machine and finished on
        # a CPU machine trained on both, and its training time is reported per machine.
        record["resumed"] = [
            *record.get("resumed", []),
            {
                "after_epoch": int(state.get("epoch", 0)),
                "train_seconds_before": round(float(state.get("train_seconds", 0.0)), 1),
                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "versions": versions(),
            },
        ]
        run.write_run_record(record)

    average = None
    if recipe.average_from:
        average = WeightAverage.load(run.checkpoints, recipe.average_from, int(state.get("epoch", 0)))
    callbacks = [
        reseed_each_epoch(config.training_seed),
        keras.callbacks.CSVLogger(str(run.history), append=resume),
        epoch_checkpoint(run, recipe.monitor, recipe.patience, state, average),
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
        raise run.write_failed(exc) from None


