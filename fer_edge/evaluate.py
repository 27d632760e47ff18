"""``fer-edge eval``: score a ``.keras`` or ``.tflite`` model on a FER2013 split.

Prediction is batched (Keras ``predict``, or the TFLite classifier with a resized batch input):
no per-image Python loop. TensorFlow is imported only for ``.keras`` models, so evaluating a
``.tflite`` model works in the light device environment too.
"""

from __future__ import annotations

import dataclasses
import os
import zipfile
from pathlib import Path

import numpy as np

from fer_edge.contract import CLASS_NAMES, Dataset, to_model_input
from fer_edge.dataset import SPLITS, load_split
from fer_edge.errors import FerEdgeError, first_line
from fer_edge.files import write_atomically
from fer_edge.metrics import EvalReport, report_from_predictions
from fer_edge.flip import mirror_averaged
from fer_edge.sidecar import flips_faces, read_sidecar, training_provenance

KERAS_SUFFIXES = (".keras", ".h5")


def load_keras_model(path: str | os.PathLike[str]):
    """Load a Keras model for inference, turning every loading failure into one clear line."""
    path = Path(path)
    if not path.is_file():
        raise FerEdgeError(f"{path}: model file not found")
    if path.suffix.lower() == ".keras" and not zipfile.is_zipfile(path):
        raise FerEdgeError(f"{path}: not a Keras model: a .keras file is a zip archive and this one is not (damaged, or another format)")
    import keras

    try:
        return keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a bad file; the user needs one line
        reason = first_line(exc)
        if reason.startswith("File not found"):  # Keras's words for an archive it cannot read
            reason = "a damaged .keras archive: Keras could not read the model in it"
        raise FerEdgeError(f"{path}: cannot load Keras model ({reason})") from None


def keras_probs(model, images: np.ndarray, test_time_flip: bool = False, batch_size: int = 256) -> np.ndarray:
    """Float probabilities of a loaded Keras model, averaged with the mirror image as the runtime does."""

    def predict(x: np.ndarray) -> np.ndarray:
        return np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype=np.float32)

    x = to_model_input(images)
    return mirror_averaged(predict, x) if test_time_flip else predict(x)


def predict_probs(
    model_path: str | os.PathLike[str], images: np.ndarray, batch_size: int = 256, test_time_flip: bool | None = None
) -> np.ndarray:
    """Class probabilities (N, 7) of a saved model for uint8 faces (N, 48, 48).

    ``test_time_flip=None`` follows the model's sidecar (off without one); with it on, each face
    and its mirror image are scored and averaged, as the Pi runtime then does.
    """
    path = Path(model_path)
    suffix = path.suffix.lower()
    if suffix == ".tflite":
        from fer_edge.device.classifier import TFLiteClassifier

        # A whole split is batch work: every core helps (a live run keeps cores for the camera).
        classifier = TFLiteClassifier(path, num_threads=os.cpu_count() or 1, test_time_flip=test_time_flip)
        return classifier.predict(images, batch_size=batch_size)
    if suffix in KERAS_SUFFIXES:
        return keras_probs(load_keras_model(path), images, flips(path, test_time_flip), batch_size)
    raise FerEdgeError(f"{path}: unknown model type {suffix!r}; expected .keras or .tflite")


def flips(model_path: Path, test_time_flip: bool | None) -> bool:
    """Whether ``predict_probs`` averages ``model_path``'s faces with their mirror image."""
    return flips_faces(read_sidecar(model_path, required=False) if test_time_flip is None else None, test_time_flip)


def training_config(model_path: str | os.PathLike[str]) -> dict:
    """The settings a model was trained with: its sidecar's, else the run.json of the run folder it is in."""
    path = Path(model_path)
    if not path.is_file():
        raise FerEdgeError(f"{path}: model file not found")
    training, _ = training_provenance(path)
    if not training or not training.get("config"):
        raise FerEdgeError(f"{path}: --split val needs the model's training settings (a sidecar, or run.json beside it)")
    return training["config"]


def load_eval_split(model_path: str | os.PathLike[str], data: str | os.PathLike[str], split: str) -> Dataset:
    """A split to evaluate on; ``val`` is rebuilt from train/ exactly as the model's training run carved it."""
    if split not in (*SPLITS, "val"):
        raise FerEdgeError(f"--split {split!r} is not one of {', '.join((*SPLITS, 'val'))}")
    if split != "val":
        return load_split(data, split)
    from fer_edge.train.config import split_indices

    config = training_config(model_path)
    train = load_split(data, "train")
    _, val_idx = split_indices(train.labels, config)
    return Dataset(train.images[val_idx], train.labels[val_idx], source=train.source, split="val")


def evaluate_predictions(probs: np.ndarray, data: Dataset, model: str = "") -> EvalReport:
    return report_from_predictions(data.labels, probs.argmax(axis=1), model=model, data=f"{data.source} [{data.split}]")


def predictions_csv(probs: np.ndarray, data: Dataset) -> str:
    """One row per face, in the split's order (sorted file names, or CSV rows): its index, true and
    predicted class, and the probabilities, so two runs (say x86_64 and arm64) can be compared face by face."""
    header = ",".join(["index", "true", "predicted", *(f"p_{name}" for name in CLASS_NAMES)])
    rows = [
        ",".join([str(i), CLASS_NAMES[int(label)], CLASS_NAMES[int(p.argmax())], *(f"{v:.6f}" for v in p)])
        for i, (label, p) in enumerate(zip(data.labels, probs))
    ]
    return "\n".join([header, *rows]) + "\n"


def evaluate(
    model_path: str | os.PathLike[str],
    data: str | os.PathLike[str] | Dataset,
    split: str = "test",
    test_time_flip: bool | None = None,
    predictions_out: str | os.PathLike[str] | None = None,
) -> EvalReport:
    """Evaluate a saved model on a split (``train``, ``test``, ``private`` or ``val``) of a FER2013 folder root or CSV.

    ``predictions_out`` also writes each face's prediction there (:func:`predictions_csv`).
    """
    dataset = data if isinstance(data, Dataset) else load_eval_split(model_path, data, split)
    probs = predict_probs(model_path, dataset.images, test_time_flip=test_time_flip)
    flip = flips(Path(model_path), test_time_flip)  # the model is known good by now
    if predictions_out is not None:
        write_atomically(predictions_out, predictions_csv(probs, dataset))
    return dataclasses.replace(evaluate_predictions(probs, dataset, model=str(model_path)), test_time_flip=flip)
