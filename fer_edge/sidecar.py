"""Model sidecars: the JSON beside every shipped model that says what it is and how good it is.

``models/edge/edge-int8.tflite`` has ``models/edge/edge-int8.json``. The Pi runtime reads class
names, input quantization and preprocessing from it (never from guesses), the regression tests
compare fresh metrics against the ones recorded in it, and a person reads how it was made.

Layout (schema 1); fields a stage does not know are left out, never invented:
  schema            SIDECAR_SCHEMA
  model             file name of the model this describes
  format            "keras" or "tflite"
  quantization      "float32", "float16", "dynamic" or "int8" (tflite only)
  class_names       CLASS_NAMES, in output order
  input / output    {"shape", "dtype", "scale", "zero_point"} of the tensors, as the model file has
                    them: shape with null for the batch axis; scale and zero_point null unless the
                    tensor is quantized
  preprocessing     PREPROCESSING (the contract the model was trained with)
  test_time_flip    whether the runtime averages the face and its mirror image (metrics include it)
  metrics           {"test": EvalReport.to_dict(), ...}; tflite: also "float_test" (the .keras it
                    came from, scored the same way) and "drop_points" (100 x accuracy difference)
  tolerance_points  the largest drop fer-edge convert accepted for this model (tflite only)
  data              {"test": folder root or CSV the metrics were measured on, "split": "test"}
  size_bytes        file size of the model
  sha256            SHA-256 of the model file (tflite; checked before the model is used)
  source            tflite: {"model": the .keras path relative to the sidecar, "sha256"};
                    keras: {"run": the training run folder it was shipped from}
  converter         {"fer_edge", "tensorflow"} versions that converted it (tflite only)
  calibration       {"images", "per_class", "seed", "source", "split", "sampling"} (int8 only)
  training          run.json of the training run (architecture, recipe, seed, data, versions, time)
  commands          the exact commands that made the model, in order (training, then convert)
  files             related files ("training_log", "curves", "confusion"), relative to the sidecar
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from fer_edge.contract import CLASS_NAMES, PREPROCESSING_ID, SIDECAR_SCHEMA
from fer_edge.errors import FerEdgeError
from fer_edge.files import write_json


def sidecar_path(model_path: str | os.PathLike[str]) -> Path:
    """``foo.tflite`` -> ``foo.json``."""
    return Path(model_path).with_suffix(".json")


def read_sidecar(model_path: str | os.PathLike[str], *, required: bool = True) -> dict | None:
    """The sidecar of a model, checked against the contract; ``None`` if absent and not required."""
    path = sidecar_path(model_path)
    if not path.is_file():
        if required:
            raise FerEdgeError(f"{path}: sidecar not found; every model needs its JSON sidecar (written by fer-edge convert)")
        return None
    try:
        card = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise FerEdgeError(f"{path}: not a readable JSON sidecar ({exc})") from None
    if not isinstance(card, dict) or card.get("schema") != SIDECAR_SCHEMA:
        raise FerEdgeError(f"{path}: sidecar schema {card.get('schema') if isinstance(card, dict) else None!r}; expected {SIDECAR_SCHEMA}")
    if tuple(card.get("class_names", ())) != CLASS_NAMES:
        raise FerEdgeError(f"{path}: class_names {card.get('class_names')} differ from fer-edge's {list(CLASS_NAMES)}")
    check_fields(card, path, Path(model_path))
    return card


#: The largest crop margin a sidecar may give (a share of the face box's side on each side): 0.5
#: already doubles the crop; larger ones are a typo, and 1000 would allocate gigabytes.
MAX_FACE_MARGIN = 0.5


def flips_faces(card: dict | None, asked: bool | None) -> bool:
    """Whether a model's faces are averaged with their mirror image: as ``asked``, else as its
    sidecar ``card`` says (off without one), the way its recorded accuracy was measured."""
    return asked if asked is not None else bool(card and card.get("test_time_flip", False))


def check_tensor_record(record: object, tensor: str, path: Path) -> None:
    """A sidecar's ``input`` or ``output``: absent, or {"shape": [None or int, ...], "dtype": str,
    "scale": number or None, "zero_point": number or None}."""
    if record is None:
        return
    number = (int, float)
    if (
        not isinstance(record, dict)
        or not isinstance(record.get("shape", []), list)
        or not all(d is None or (isinstance(d, int) and not isinstance(d, bool)) for d in record.get("shape", []))
        or not isinstance(record.get("dtype", ""), str)
        or any(record.get(k) is not None and (isinstance(record.get(k), bool) or not isinstance(record.get(k), number)) for k in ("scale", "zero_point"))
    ):
        raise FerEdgeError(f"{path}: {tensor} {json.dumps(record)[:80]} is not a tensor record (shape, dtype, scale, zero_point)")


def check_fields(card: dict, path: Path, model_path: Path) -> None:
    """Refuse, in one line, a sidecar whose fields the runtime uses have the wrong type or range,
    or that describes a model of another size than the file beside it."""
    preprocessing = card.get("preprocessing")
    if not isinstance(preprocessing, dict):
        raise FerEdgeError(f"{path}: preprocessing must be an object, not {type(preprocessing).__name__}")
    if preprocessing.get("id") != PREPROCESSING_ID:
        raise FerEdgeError(f"{path}: preprocessing {preprocessing.get('id')!r} is not {PREPROCESSING_ID!r}, which this fer-edge implements")
    margin = preprocessing.get("face_margin", 0.0)
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0.0 <= margin <= MAX_FACE_MARGIN:
        raise FerEdgeError(f"{path}: preprocessing.face_margin {margin!r} must be a number from 0 to {MAX_FACE_MARGIN}")
    flip = card.get("test_time_flip", False)
    if not isinstance(flip, bool):
        raise FerEdgeError(f"{path}: test_time_flip {flip!r} must be true or false (JSON booleans, not text)")
    for tensor in ("input", "output"):
        check_tensor_record(card.get(tensor), tensor, path)
    size = card.get("size_bytes")
    if size is not None and model_path.is_file() and model_path.stat().st_size != size:
        raise FerEdgeError(
            f"{path}: describes a model of {size} bytes, but {model_path.name} has {model_path.stat().st_size}: "
            "a sidecar from another model? (fer-edge convert writes the right one)"
        )
    digest = card.get("sha256")
    if digest is not None and model_path.is_file() and hashlib.sha256(model_path.read_bytes()).hexdigest() != digest:
        raise FerEdgeError(f"{path}: its sha256 is not {model_path.name}'s: a sidecar from another model, or a changed model file")


def write_sidecar(model_path: str | os.PathLike[str], card: dict) -> Path:
    """Write the sidecar atomically (a half-written sidecar would mislead every reader)."""
    path = sidecar_path(model_path)
    payload = {"schema": SIDECAR_SCHEMA, "model": Path(model_path).name, "class_names": list(CLASS_NAMES), **card}
    return write_json(path, payload)


def training_provenance(model_path: str | os.PathLike[str]) -> tuple[dict | None, list[str]]:
    """How the float model was made: from its own sidecar, else from the training run folder it sits in."""
    model_path = Path(model_path)
    card = read_sidecar(model_path, required=False)
    if card is not None:
        return card.get("training"), list(card.get("commands", []))
    from fer_edge.train.run_folder import run_record_beside  # only here: the device stage reads no run folders

    run_file = run_record_beside(model_path)
    if run_file.is_file():
        try:
            run = json.loads(run_file.read_text())
        except (OSError, ValueError) as exc:
            raise FerEdgeError(f"{run_file}: unreadable training record ({exc}); fix or remove it") from None
        return run, list(run.get("commands", []))
    return None, []
