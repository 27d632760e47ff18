"""Turn a Keras model into TFLite bytes: full-integer int8, float16 or dynamic-range.

int8 is calibrated post-training: the converter runs a class-balanced, seeded sample of FER2013
*training* faces through the float model to find each activation's range. The sample goes through
exactly the model's preprocessing (:func:`~fer_edge.contract.to_model_input`), so the input tensor
gets scale 1 and zero point -128 and every 0..255 pixel is represented exactly.

TensorFlow is imported inside the functions that need it. ``TFLiteConverter.from_keras_model``
converts Keras 3 models directly in TF 2.16-2.21 (it traces the model's call into a concrete
function), so no SavedModel detour is needed.
"""

from __future__ import annotations

import contextlib
import io
import math
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from fer_edge.contract import NUM_CLASSES, Dataset, to_model_input
from fer_edge.errors import FerEdgeError, first_line
from fer_edge.splits import subset_per_class

#: Conversion modes, as named by ``fer-edge convert --int8|--float16|--dynamic``.
MODES: tuple[str, ...] = ("int8", "float16", "dynamic")
#: Default calibration sample: 50 training faces of each of the 7 classes.
DEFAULT_CALIBRATION_SIZE: int = 350
#: Faces per calibration step; batching keeps the calibration pass vectorised.
CALIBRATION_BATCH: int = 25


@dataclass(frozen=True)
class CalibrationSample:
    """The faces int8 calibration sees, and how they were chosen (recorded in the sidecar)."""

    images: np.ndarray  # uint8 (N, 48, 48)
    per_class: int
    seed: int
    source: str
    split: str

    def to_dict(self) -> dict:
        return {
            "images": int(len(self.images)),
            "per_class": self.per_class,
            "seed": self.seed,
            "source": str(Path(self.source).resolve()),
            "split": self.split,
            "sampling": "class-balanced, seeded (fer_edge.splits.subset_per_class)",
        }


def calibration_sample(train: Dataset, size: int = DEFAULT_CALIBRATION_SIZE, seed: int = 0) -> CalibrationSample:
    """A class-balanced, seeded sample of about ``size`` training faces (``ceil(size / 7)`` per class).

    Balanced because FER2013 is not (happy has 16x as many faces as disgust): ranges calibrated
    mostly on happy faces would clip the activations that the rare classes depend on.
    """
    if size < 1:
        raise FerEdgeError(f"--calibration-size {size} must be at least 1 (a few hundred is typical)")
    per_class = math.ceil(size / NUM_CLASSES)
    indices = subset_per_class(train.labels, per_class, seed)
    return CalibrationSample(train.images[indices], per_class, seed, train.source, train.split)


def representative_dataset(images: np.ndarray, batch_size: int = CALIBRATION_BATCH) -> Callable[[], Iterator[list[np.ndarray]]]:
    """The converter's calibration feed: batches of faces as the model's float input, with a bar."""

    def batches() -> Iterator[list[np.ndarray]]:
        from tqdm import tqdm

        starts = range(0, len(images), batch_size)
        for start in tqdm(starts, desc="calibrating", unit="batch", disable=not sys.stderr.isatty()):
            yield [to_model_input(images[start : start + batch_size])]

    return batches


def tflite_bytes(model, mode: str, calibration: np.ndarray | None = None) -> bytes:
    """Convert a loaded Keras model to a TFLite flatbuffer in ``mode`` (one of :data:`MODES`).

    int8 is full-integer: int8 weights and activations, int8 input and output tensors, and
    ``TFLITE_BUILTINS_INT8`` only, so conversion fails instead of silently keeping a float op.
    """
    if mode not in MODES:
        raise FerEdgeError(f"conversion mode {mode!r} is not one of {', '.join(MODES)}")
    if mode == "int8" and (calibration is None or len(calibration) == 0):
        raise FerEdgeError("int8 conversion needs calibration faces; pass --data with FER2013's train/ split")
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "int8":
        converter.representative_dataset = representative_dataset(calibration)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    elif mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
    # dynamic: Optimize.DEFAULT without calibration data = int8 weights, float activations.
    try:
        # Keras 3 export prints its whole signature and the converter warns about input statistics
        # the representative dataset provides: noise that buries the accuracy check's result.
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return converter.convert()
    except Exception as exc:  # the converter raises ConverterError, ValueError, RuntimeError...
        raise FerEdgeError(f"TFLite converter failed for {mode} ({first_line(exc)}); the model may use an op TFLite cannot quantize") from None
