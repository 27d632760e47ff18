"""Runs that start from a shipped model: restore a lost run (``--restore-from``), or fine-tune one (``--init-from``).

A long CPU run may have to continue on another machine, without its run folder. A shipped
``.keras`` still carries what the run needs to go on: its sidecar holds the run's
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
from fer_edge.evaluate import load_keras_model
from fer_edge.sidecar import read_sidecar
from fer_edge.train.architectures import get_architecture
from fer_edge.train.backend import resolve_precision
from fer_edge.train.config import TrainConfig
from fer_edge.train.optimizer import compile_for_training
from fer_edge.train.run_folder import MODEL, SCHEDULE_EPOCHS, RunFolder, temporary


def restorable_record(model_path: Path) -> tuple[dict, int, Path | None]:
    """A model's run record, the epoch its weights are from, and its training log.

    From the model's sidecar (a shipped model), else from the finished run folder it sits in.
    """
    if not model_path.is_file() or model_path.suffix.lower() != ".keras":
        raise FerEdgeError(f"{model_path}: not found; give a .keras model shipped with its sidecar, or a finished run's {MODEL}")
    card = read_sidecar(model_path, required=False)
    if card is not None:
        run, where = card.get("training"), model_path.with_suffix(".json")
        log_name = (card.get("files") or {}).get("training_log")
        log = model_path.with_name(log_name) if log_name else None
    elif RunFolder(model_path.parent).run_record.is_file():
        where, log = RunFolder(model_path.parent).run_record, RunFolder(model_path.parent).history
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
    try:
        model.set_weights(load_keras_model(source).get_weights())
    except ValueError as exc:
        raise FerEdgeError(f"{source}: its weights do not fit --arch {arch} ({str(exc)[:120]})") from None


def check_same_split(model_path: Path, before: dict, config: TrainConfig) -> None:
    """Refuse a model whose run held out another validation split than ``config`` will."""
    for key, flag in (("seed", "--seed"), ("val_fraction", "--val-fraction"), ("limit_per_class", "--limit-per-class")):
        if before.get(key) != getattr(config, key):
            raise FerEdgeError(
                f"{model_path}: was trained with {flag} {before.get(key)}, this run has {getattr(config, key)}: "
                "its validation split would hold faces the weights were trained on; use the same split"
            )


def init_record(model_path: str | Path, config: TrainConfig) -> dict:
    """What ``run.json`` records of the model a ``--init-from`` run (``config``) starts from; refuses another split."""
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

    model_path, out = Path(model_path), Path(out)
    folder = RunFolder(out)
    run, epoch, log = restorable_record(model_path)
    if folder.restart_point.exists():
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
    train_idx, _ = config.split_indices(full.labels)
    steps_per_epoch = len(train_idx) // recipe.batch_size

    keras.mixed_precision.set_global_policy(resolve_precision(config.precision))
    model = get_architecture(config.arch).build()
    load_weights_from(model, model_path, config.arch)
    compile_for_training(model, recipe, steps_per_epoch)
    model.optimizer.build(model.trainable_variables)
    model.optimizer.iterations.assign(epoch * steps_per_epoch)

    folder.checkpoints.mkdir(parents=True, exist_ok=True)
    model.save_weights(folder.best_weights)
    unfinished = temporary(folder.restart_point)
    model.save(unfinished)

    best_value = (run.get("best_monitor") or {}).get(recipe.monitor)
    seconds = float(run.get("train_seconds") or 0.0) * epoch / max(int(run.get("epochs_run") or epoch), 1)
    if log is not None:
        shutil.copyfile(log, folder.history)
        folder.drop_history_after(epoch)  # the log goes on past the best epoch
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
    folder.write_run_record(record)
    folder.write_state({"epoch": epoch, "best_value": best_value, "best_epoch": epoch, "wait": 0, "train_seconds": seconds})
    # Last: --resume takes a folder with checkpoints/last.keras as a complete restart point.
    shutil.move(unfinished, folder.restart_point)
    print(f"restored {out} at epoch {epoch} of {recipe.epochs} from {model_path} ({steps_per_epoch} steps per epoch)")
