"""The contract between the stages: classes, image size, preprocessing, sidecar schema.

Every stage (train, convert, device) imports these names instead of re-declaring them, so a
model trained by fer-edge is fed exactly the same pixels on the Pi. Import-light on purpose: NumPy only.

Preprocessing contract ("raw-pixels-v1"): a face is a 48x48 single-channel uint8 crop; the model
input is those pixel values as they are (0..255) with shape (48, 48, 1). Scaling to [0, 1] is the
first layer *inside* the model, so no stage can forget or duplicate it, and an int8 model's input
quantization (scale ~1, zero point -128) represents every pixel exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: FER2013's label order: index i is the class of label i in the CSV and in model outputs.
CLASS_NAMES: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NUM_CLASSES: int = len(CLASS_NAMES)

#: Side of the square face crop, in pixels.
IMAGE_SIZE: int = 48
#: Shape of one model input (height, width, channels), without the batch axis.
INPUT_SHAPE: tuple[int, int, int] = (IMAGE_SIZE, IMAGE_SIZE, 1)

#: Name of the preprocessing contract recorded in every sidecar.
PREPROCESSING_ID: str = "raw-pixels-v1"
PREPROCESSING: dict[str, object] = {
    "id": PREPROCESSING_ID,
    "input": "48x48 grayscale uint8 face crop, values 0..255 as float32, shape (N, 48, 48, 1)",
    "scaling": "inside the model (x / 255)",
    "face_crop": "square box around the detected face, grown by face_margin of its side on each side",
    # OpenCV's frontal Haar box already frames a face as FER2013 crops do; growing it shrinks the
    # face the model sees and agrees less with the dataset's own crops (benchmarks/README.md).
    "face_margin": 0.0,
    "grayscale": "OpenCV COLOR_BGR2GRAY (ITU-R BT.601 luma)",
    "resize": "cv2.INTER_AREA when shrinking, cv2.INTER_LINEAR when enlarging",
}

#: Version of the model sidecar JSON layout (bump when a field changes meaning).
SIDECAR_SCHEMA: int = 1

#: FER2013 CSV ``Usage`` values for each split name the toolkit uses.
CSV_USAGE_FOR_SPLIT: dict[str, str] = {
    "train": "Training",
    "test": "PublicTest",
    "private": "PrivateTest",
}


def to_model_input(faces: np.ndarray) -> np.ndarray:
    """Turn uint8 faces (N, 48, 48) or (N, 48, 48, 1) into float model input (N, 48, 48, 1).

    This is the whole host-side preprocessing of the contract: the rest happens in the model.
    """
    faces = np.asarray(faces)
    if faces.ndim == 3:
        faces = faces[..., np.newaxis]
    if faces.shape[1:] != INPUT_SHAPE:
        raise ValueError(f"faces must have shape (N, 48, 48[, 1]); got {faces.shape}")
    return faces.astype(np.float32)


@dataclass(frozen=True)
class Dataset:
    """Images and labels of one split, as every stage consumes them.

    ``images`` is uint8 (N, 48, 48); ``labels`` is int64 (N,) indexing :data:`CLASS_NAMES`.
    """

    images: np.ndarray
    labels: np.ndarray
    source: str
    split: str

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def class_counts(self) -> dict[str, int]:
        """How many images of each class, in label order."""
        counts = np.bincount(self.labels, minlength=NUM_CLASSES)
        return {name: int(c) for name, c in zip(CLASS_NAMES, counts)}
