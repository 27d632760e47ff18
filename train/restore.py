"""Runs that start from a shipped model: restore a lost run (``--restore-from``), or fine-tune one (``--init-from``).

A CPU run spans sessions, and a session may come back on a fresh machine without the run folder.
A shipped ``.keras`` still carries what the run needs to go on: its sidecar holds the run's
``run.json`` (architecture, recipe, seed, data split) and its training log, and the model holds
the weights of the run's best epoch. ``restore_run`` turns that back into a run folder at that
epoch, so ``fer-edge train --restore-from MODEL.keras`` continues the same run: the same
validation split, the learning-rate schedule at the step it had reached, the log up to that
epoch. One thing is not in a shipped model and is rebuilt from zero: the optimizer's momentum
buffers (SGD momentum 0.9 refills them within a few dozen steps). ``run.json`` records the
restore, so the sidecars of what it makes say so.

``--init-from`` instead starts a new run (its own recipe and schedule, e.g. a second, shorter
cosine cycle at a lower learning rate) from a shipped model's weights. It must hold out the same
validation split as the model's run did: otherwise its "unseen" validation faces would be faces
the starting weights were trained on, and the epoch it picks would be chosen on seen faces.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import replace
from pathlib import Path

from fer_edge.errors import FerEdgeError
from fer_edge.sidecar import read_sidecar


def restorable_record(model_path: Path) -> tuple[dict, int, Path | None]:
    """A model's run record, the epoch its weights are from, and its training log.

    From the model's sidecar (a shipped model), else from the finished run folder it sits in.
    """
    if not model_path.is_file() or model_path.suffix.lower() != ".keras":
        raise FerEdgeError(f"{model_path}: not found; give a .keras model shipped with its sidecar, or a finished run's model.keras")
    card = read_sidecar(model_path, required=False)
    if card is not None:
        run, where = card.get("training"), model_path.with_suffix(".json")
        log_name = (card.get("files") or {}).get("training_log")
        log = model_path.with_name(log_name) if log_name else None
    elif (model_path.parent / "run.json").is_file():
        where, log = model_path.parent / "run.json", model_path.parent / "history.csv"
        try:
            run = json.loads(where.read_text())
        except (OSError, ValueError) as exc:
            raise FerEdgeError(f"{where}: unreadable training record ({exc})") from None
    else:
        raise FerEdgeError(f"{model_path.with_suffix('.json')}: sidecar not found, and no run.json beside the model: its training record is needed")
    if not isinstance(run, dict) or "config" not in run or not run.get("best_epoch"):
        raise FerEdgeError(f"{where}: no training record with a best_epoch; only a model made by a finished fer-edge train run can be used")
    return run, int(run["best_epoch"]), log if log is not None and log.is_file() else None


def model_identity(model_path: Path) -> dict:
    """Where a starting model was and which file it was, for run.json (the path alone may be overwritten)."""
    return {"model": str(model_path.resolve()), "sha256": hashlib.sha256(model_path.read_bytes()).hexdigest()}


def load_weights_from(model, source: Path, arch: str) -> None:
    """Copy a saved model's weights into a freshly built ``arch`` model (which may be bfloat16-mixed)."""
    from fer_edge.evaluate import load_keras_model

    try:
        model.set_weights(load_keras_model(source).get_weights())
    except ValueError as exc:
        raise FerEdgeError(f"{source}: its weights do not fit --arch {arch} ({str(exc)[:120]})") from None


def check_same_split(model_path: Path, before: dict, config) -> None:
    """Refuse a model whose run held out another validation split than ``config`` (a ``TrainConfig``) will."""
    for key, flag in (("seed", "--seed"), ("val_fraction", "--val-fraction"), ("limit_per_class", "--limit-per-class")):
        if before.get(key) != getattr(config, key):
            raise FerEdgeError(
                f"{model_path}: was trained with {flag} {before.get(key)}, this run has {getattr(config, key)}: "
                "its validation split would hold faces the weights were trained on; use the same split"
            )


def init_record(model_path: str | Path, config) -> dict:
    """What ``run.json`` records of the model a ``--init-from`` run starts from; refuses another split.

    ``config`` is the new run's ``TrainConfig``.
    """
    model_path = Path(model_path)
    run, epoch, _ = restorable_record(model_path)
    before = run["config"]
    check_same_split(model_path, before, config)
    if before.get("arch") != config.arch:
        raise FerEdgeError(f"{model_path}: is a {before.get('arch')!r} model; add --arch {before.get('arch')}")
    return {**model_identity(model_path), "epoch": epoch, "training": run}


def restore_run(model_path: str | Path, out: str | Path, *, epochs: int | None, data: str | Path | None = None) -> None:
    """Write a run folder in ``out`` that ``train(..., resume=True)`` continues after the model's epoch.

    ``epochs`` is the run's planned length, which sets the cosine schedule: give the length the
    run started with (its first command's), since an exported snapshot records its shorter cap.
    ``data`` is where the run's data is now, when not where the run recorded it.
    """
    import keras

    from fer_edge.dataset import load_split
    from fer_edge.splits import training_indices
    from fer_edge.files import write_json
    from fer_edge.train.architectures import get_architecture
    from fer_edge.train.backend import resolve_precision
    from fer_edge.train.trainer import SCHEDULE_EPOCHS, TrainConfig, compile_for_training, drop_history_after

    model_path, out = Path(model_path), Path(out)
    run, epoch, log = restorable_record(model_path)
    if (out / "checkpoints" / "last.keras").exists():
        raise FerEdgeError(f"{out}: already holds a run; continue it with --resume, or choose another --out")
    if run.get("weight_average"):
        first, last = run["weight_average"]["epochs"]
        raise FerEdgeError(
            f"{model_path}: its weights are the average of epochs {first}-{last}, not one epoch's restart point; "
            "start a new run from them with --init-from"
        )
    config = TrainConfig.from_dict(run["config"])
    recipe = config.recipe.overridden(epochs=epochs)
    if epoch >= recipe.epochs:
        raise FerEdgeError(f"{model_path}: its weights are from epoch {epoch}, already at --epochs {recipe.epochs}; give the run's full length with --epochs")
    config = replace(config, recipe=recipe, out=str(out), command="", data=str(data) if data else config.data)

    full = load_split(config.data, "train")
    train_idx, _ = training_indices(full.labels, val_fraction=config.val_fraction, seed=config.seed, limit_per_class=config.limit_per_class)
    steps_per_epoch = len(train_idx) // recipe.batch_size

    keras.mixed_precision.set_global_policy(resolve_precision(config.precision))
    model = get_architecture(config.arch).build()
    load_weights_from(model, model_path, config.arch)
    compile_for_training(model, recipe, steps_per_epoch)
    model.optimizer.build(model.trainable_variables)
    model.optimizer.iterations.assign(epoch * steps_per_epoch)

    checkpoints = out / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    model.save_weights(checkpoints / "best.weights.h5")
    model.save(checkpoints / "last.tmp.keras")

    best_value = (run.get("best_monitor") or {}).get(recipe.monitor)
    seconds = float(run.get("train_seconds") or 0.0) * epoch / max(int(run.get("epochs_run") or epoch), 1)
    if log is not None:
        shutil.copyfile(log, out / "history.csv")
        drop_history_after(out / "history.csv", epoch)  # the log goes on past the best epoch
    restored = {
        **model_identity(model_path),
        "epoch": epoch,
        "optimizer": f"weights and learning-rate schedule restored at step {epoch * steps_per_epoch}; momentum buffers restarted from zero",
        "train_seconds_before": round(seconds, 1),
        "restored_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    record = {k: v for k, v in run.items() if k not in ("finished", "epochs_run", "best_epoch", "best_monitor", "stopped_early", "train_seconds")}
    # train(..., resume=True) appends the command that continues from here.
    record.update(config=config.to_dict(), restored_from=restored, commands=list(run.get("commands", [])))
    record[SCHEDULE_EPOCHS] = recipe.epochs  # the schedule compile_for_training just built
    write_json(out / "run.json", record)
    write_json(
        checkpoints / "state.json",
        {"epoch": epoch, "best_value": best_value, "best_epoch": epoch, "wait": 0, "train_seconds": seconds},
    )
    # Last: --resume takes a folder with checkpoints/last.keras as a complete restart point.
    shutil.move(checkpoints / "last.tmp.keras", checkpoints / "last.keras")
    print(f"restored {out} at epoch {epoch} of {recipe.epochs} from {model_path} ({steps_per_epoch} steps per epoch)")
