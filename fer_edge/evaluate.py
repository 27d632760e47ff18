"""``fer-edge eval``: score a ``.keras`` or ``.tflite`` model on a FER2013 split.

Prediction is batched (Keras ``predict``, or the TFLite classifier with a resized batch input):
no per-image Python loop. TensorFlow is imported only for ``.keras`` models, so evaluating a
``.tflite`` model works in the light device environment too.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from fer_edge.contract import Dataset, to_model_input
from fer_edge.dataset import load_split
from fer_edge.errors import FerEdgeError
from fer_edge.metrics import EvalReport, report_from_predictions

KERAS_SUFFIXES = (".keras", ".h5")


def load_keras_model(path: str | os.PathLike[str]):
    """Load a Keras model for inference, turning every loading failure into one clear line."""
    path = Path(path)
    if not path.is_file():
        raise FerEdgeError(f"{path}: model file not found")
    import keras

    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # Keras raises many types for a bad file; the user needs one line
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FerEdgeError(f"{path}: cannot load Keras model ({reason[:200]})") from None


def predict_probs(model_path: str | os.PathLike[str], images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Class probabilities (N, 7) of a saved model for uint8 faces (N, 48, 48)."""
    path = Path(model_path)
    suffix = path.suffix.lower()
    if suffix == ".tflite":
        from fer_edge.device.classifier import TFLiteClassifier

        return TFLiteClassifier(path).predict(images, batch_size=batch_size)
    if suffix in KERAS_SUFFIXES:
        model = load_keras_model(path)
        return np.asarray(model.predict(to_model_input(images), batch_size=batch_size, verbose=0), dtype=np.float32)
    raise FerEdgeError(f"{path}: unknown model type {suffix!r}; expected .keras or .tflite")


def evaluate_predictions(probs: np.ndarray, data: Dataset, model: str = "") -> EvalReport:
    return report_from_predictions(data.labels, probs.argmax(axis=1), model=model, data=f"{data.source} [{data.split}]")


def evaluate(model_path: str | os.PathLike[str], data: str | os.PathLike[str] | Dataset, split: str = "test") -> EvalReport:
    """Evaluate a saved model on a split of a FER2013 folder root or CSV."""
    dataset = data if isinstance(data, Dataset) else load_split(data, split)
    return evaluate_predictions(predict_probs(model_path, dataset.images), dataset, model=str(model_path))
