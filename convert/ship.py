"""Ship a training run's float model: ``models/edge/edge.keras`` with its sidecar, log and curves.

One call turns a finished ``fer-edge train`` folder into the float half of a shipped model::

    from fer_edge.convert.ship import ship_keras
    ship_keras("runs/edge", "models/edge/edge.keras")
    # then: fer-edge convert models/edge/edge.keras --int8 --out models/edge/edge-int8.tflite \\
    #           --confusion models/edge/edge-int8-confusion.png

The sidecar's metrics are the run's ``metrics.json`` (the float model on the test split); the
regression tests re-evaluate the shipped model against them, so they must be the model's own.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from fer_edge.contract import PREPROCESSING, PREPROCESSING_ID
from fer_edge.errors import FerEdgeError
from fer_edge.sidecar import write_sidecar
from fer_edge.train.run_folder import CONFUSION, CURVES, HISTORY, METRICS, MODEL, RUN_RECORD, RunFolder

#: Run files shipped beside the model, and the suffix each gets after the model's stem.
RUN_FILES: dict[str, str] = {
    HISTORY: "-history.csv",
    CURVES: "-curves.png",
    CONFUSION: "-confusion.png",
}


def read_run(run_dir: Path) -> tuple[dict, dict]:
    """``run.json`` and ``metrics.json`` of a finished run, or a one-line reason it is not one."""
    folder = RunFolder(run_dir)
    for path in (folder.model, folder.run_record, folder.metrics):
        if not path.is_file():
            raise FerEdgeError(f"{run_dir}: no {path.name}; ship a finished fer-edge train folder (or finish it with --resume)")
    try:
        run = json.loads(folder.run_record.read_text())
        metrics = json.loads(folder.metrics.read_text())
    except (OSError, ValueError) as exc:
        raise FerEdgeError(f"{run_dir}: unreadable {RUN_RECORD} or {METRICS} ({exc})") from None
    preprocessing = run.get("preprocessing", {}).get("id")
    if preprocessing != PREPROCESSING_ID:
        raise FerEdgeError(f"{folder.run_record}: preprocessing {preprocessing!r} is not {PREPROCESSING_ID!r}")
    if metrics.get("split", "test") != "test":
        raise FerEdgeError(f"{folder.metrics}: metrics of split {metrics.get('split')!r}; the sidecar records test")
    return run, metrics


def copy_file(source: Path, dest: Path) -> None:
    """Copy whole or not at all (a half-copied model would load as garbage)."""
    if dest.exists() and source.resolve() == dest.resolve():
        return
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def ship_keras(run_dir: str | os.PathLike[str], dest: str | os.PathLike[str], *, with_weights: bool = True) -> Path:
    """Copy ``run_dir/model.keras`` to ``dest`` (a ``.keras`` path) with its training files, and write its sidecar.

    ``with_weights=False`` ships the record without the model file: for a reference model (the
    ``seed`` reproduction) whose metrics belong in the README beside ours but whose 18 MB of
    weights nobody deploys. Its sidecar's ``size_bytes`` is then the size the model would have.
    Returns the sidecar's path (``dest`` with ``.json``).
    """
    from fer_edge.convert.converter import check_model_shape
    from fer_edge.convert.tensors import keras_tensors
    from fer_edge.evaluate import load_keras_model

    run_dir, dest = Path(run_dir).expanduser(), Path(dest)
    if dest.suffix.lower() != ".keras":
        raise FerEdgeError(f"{dest}: the shipped float model must end in .keras")
    run, metrics = read_run(run_dir)
    model = load_keras_model(run_dir / MODEL)
    check_model_shape(model, run_dir / MODEL)
    model_input, model_output = keras_tensors(model)

    dest.parent.mkdir(parents=True, exist_ok=True)
    if with_weights:
        copy_file(run_dir / MODEL, dest)
    else:
        dest.unlink(missing_ok=True)  # a stale model beside a metrics-only sidecar would be tested against it
    files: dict[str, str] = {}
    for name, suffix in RUN_FILES.items():
        if (run_dir / name).is_file():
            target = dest.with_name(dest.stem + suffix)
            copy_file(run_dir / name, target)
            files[Path(name).stem if name != HISTORY else "training_log"] = target.name
    card = {
        "format": "keras",
        "quantization": "float32",
        "input": model_input.to_dict(),
        "output": model_output.to_dict(),
        "preprocessing": PREPROCESSING,
        "test_time_flip": False,  # metrics.json scores each face once, as fer-edge train does
        "metrics": {"test": {k: v for k, v in metrics.items() if k != "split"}},
        "data": {"test": run.get("data", {}).get("source"), "split": "test"},
        "size_bytes": (run_dir / MODEL).stat().st_size,
        "source": {"run": str(run_dir.resolve()), "weights_shipped": with_weights},
        "training": run,
        "commands": list(run.get("commands", [])),
        "files": files,
    }
    return write_sidecar(dest, card)
