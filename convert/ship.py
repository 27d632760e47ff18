"""Ship a training run's float model: ``models/edge/edge.keras`` with its sidecar, log and curves.

One command turns a finished ``fer-edge train`` folder into the float half of a shipped model::

    fer-edge ship runs/edge models/edge/edge.keras
    fer-edge convert models/edge/edge.keras --int8 --out models/edge/edge-int8.tflite \\
        --confusion models/edge/edge-int8-confusion.png

(``ship_keras`` is the same from Python.) The sidecar's metrics are the run's ``metrics.json``
(the float model on the test split); the regression tests re-evaluate the shipped model against
them, so they must be the model's own.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from fer_edge.contract import PREPROCESSING, PREPROCESSING_ID
from fer_edge.dataset import default_data_dir
from fer_edge.errors import FerEdgeError
from fer_edge.files import check_no_clash, check_output_path
from fer_edge.sidecar import sidecar_path, write_sidecar
from fer_edge.train.run_folder import CONFUSION, CURVES, HISTORY, METRICS, MODEL, RUN_RECORD

#: Run files shipped beside the model, and the suffix each gets after the model's stem.
RUN_FILES: dict[str, str] = {
    HISTORY: "-history.csv",
    CURVES: "-curves.png",
    CONFUSION: "-confusion.png",
}


def json_object(path: Path, what: str) -> dict:
    """A run file that must hold a JSON object, or one line on why it does not."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise FerEdgeError(f"RUN {path}: unreadable ({exc})") from None
    if not isinstance(data, dict):
        raise FerEdgeError(f"RUN {path}: not {what} (a JSON object)")
    return data


def read_run(run_dir: Path) -> tuple[dict, dict]:
    """``run.json`` and ``metrics.json`` of a finished run, or a one-line reason it is not one."""
    if not run_dir.is_dir():
        raise FerEdgeError(f"RUN {run_dir}: no such folder; give a finished fer-edge train folder (its --out)")
    finish = f"finish it with fer-edge train --out {run_dir} --resume"
    if not (run_dir / RUN_RECORD).is_file():
        raise FerEdgeError(f"RUN {run_dir}: no run.json, so not a fer-edge train folder; give the folder fer-edge train wrote (its --out)")
    run = json_object(run_dir / RUN_RECORD, "a fer-edge run record")
    if "finished" not in run or not (run_dir / MODEL).is_file():
        raise FerEdgeError(f"RUN {run_dir}: the run has not finished (no final model.keras); {finish}")
    if not (run_dir / METRICS).is_file():
        raise FerEdgeError(
            f"RUN {run_dir}: no metrics.json (the run's data had no test split to score it on); "
            f"score it with fer-edge eval {run_dir / MODEL} --data DATA --json {run_dir / METRICS}"
        )
    metrics = json_object(run_dir / METRICS, "an evaluation report")
    preprocessing = run.get("preprocessing", {}).get("id")
    if preprocessing != PREPROCESSING_ID:
        raise FerEdgeError(f"{run_dir / RUN_RECORD}: preprocessing {preprocessing!r} is not {PREPROCESSING_ID!r}")
    if metrics.get("split", "test") != "test":
        raise FerEdgeError(f"{run_dir / METRICS}: metrics of split {metrics.get('split')!r}; the sidecar records test")
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


def shipped_files(run_dir: Path, dest: Path, with_weights: bool = True) -> dict[str, Path]:
    """What shipping ``run_dir`` as ``dest`` writes: each output, keyed by what it is."""
    outputs = {"DEST": dest} if with_weights else {}
    outputs["DEST's sidecar"] = sidecar_path(dest)
    for name, suffix in RUN_FILES.items():
        if (run_dir / name).is_file():
            outputs[f"DEST's copy of {name}"] = dest.with_name(dest.stem + suffix)
    return outputs


def training_data(run: dict) -> Path | None:
    """The data folder a run record names, where it is a folder: no shipped file goes in it."""
    config = run.get("config")
    data = config.get("data") if isinstance(config, dict) else None
    return Path(data) if isinstance(data, str) and Path(data).is_dir() else None


def check_destination(run_dir: Path, run: dict, dest: Path, with_weights: bool, overwrite: bool) -> dict[str, Path]:
    """Refuse, before any work, a ``dest`` that is not a .keras path, would replace a file (unless
    ``overwrite``), an input of the run ``run_dir`` (whose record is ``run``) or lands in its data,
    or cannot be written; the files shipping will write."""
    if dest.suffix.lower() != ".keras":
        raise FerEdgeError(f"DEST {dest}: the shipped float model must end in .keras")
    outputs = shipped_files(run_dir, dest, with_weights)
    check_no_clash(outputs, {"RUN": run_dir, "the run's --data": training_data(run), "the default data": default_data_dir()})
    stale = [dest] if not with_weights else []  # a metrics-only ship removes a model left there
    existing = [path for path in [*outputs.values(), *stale] if path.exists()]
    if existing and not overwrite:
        also = f" (and {len(existing) - 1} more of the files it writes)" if len(existing) > 1 else ""
        raise FerEdgeError(f"DEST {dest}: {existing[0]} exists{also}; choose another DEST, or --overwrite to replace them")
    folder = dest.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # the folders missing below it are created
    if folder.is_dir():
        for name, path in outputs.items():
            if path.parent.is_dir():
                check_output_path(name, path)
        if not os.access(folder, os.W_OK):
            raise FerEdgeError(f"DEST {dest}: cannot write in {folder} (permission denied)")
    else:
        raise FerEdgeError(f"DEST {dest}: {folder} is a file, not a folder")
    return outputs


def ship_keras(
    run_dir: str | os.PathLike[str], dest: str | os.PathLike[str], *, with_weights: bool = True, overwrite: bool = False
) -> Path:
    """Copy ``run_dir/model.keras`` to ``dest`` (a ``.keras`` path) with its training files, and write its sidecar.

    ``with_weights=False`` ships the record without the model file: for a reference model (the
    ``seed`` reproduction) whose metrics belong in the README beside ours but whose 18 MB of
    weights nobody deploys. Its sidecar's ``size_bytes`` is then the size the model would have.
    Files already at ``dest`` are refused unless ``overwrite``. Each file is written whole, and
    a failure part-way removes the new files it wrote. Returns the sidecar's path (``dest`` with ``.json``).
    """
    from fer_edge.convert.converter import check_model_shape
    from fer_edge.convert.tensors import keras_tensors
    from fer_edge.evaluate import load_keras_model

    run_dir, dest = Path(run_dir).expanduser(), Path(dest).expanduser()
    run, metrics = read_run(run_dir)
    outputs = check_destination(run_dir, run, dest, with_weights, overwrite)
    model = load_keras_model(run_dir / MODEL)
    check_model_shape(model, run_dir / MODEL)
    model_input, model_output = keras_tensors(model)

    new_files = [path for path in outputs.values() if not path.exists()]
    try:
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
    except BaseException as exc:
        for path in new_files:
            path.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise FerEdgeError(f"DEST {dest}: cannot write ({exc.strerror or exc}); nothing new is left there") from None
        raise
