"""Test-time flip: score each face and its mirror image, and average the two probability sets.

Faces are left-right symmetric and a model's errors on a face and its mirror are not, so the
average is the more accurate answer. ``fer-edge eval`` of a Keras model and the TFLite
classifier on the Pi both flip through here, so they cannot disagree on how. NumPy only.
"""

from __future__ import annotations

from typing import Callable

import numpy as np


def mirror_averaged(predict: Callable[[np.ndarray], np.ndarray], faces: np.ndarray) -> np.ndarray:
    """``predict``'s probabilities averaged over each face and its mirror image.

    ``faces`` is a batch (N, H, W) or (N, H, W, C); the faces and their mirrors go through
    ``predict`` as one batch of 2N, so a model is invoked as often as without the flip.
    """
    faces = np.asarray(faces)
    if len(faces) == 0:
        return predict(faces)
    both = predict(np.concatenate([faces, faces[:, :, ::-1]]))
    return (both[: len(faces)] + both[len(faces) :]) / 2
