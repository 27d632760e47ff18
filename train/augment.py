"""Training-time augmentation of FER2013 faces, in NumPy and OpenCV, the same under every Keras backend.

FER2013 has 28,709 training faces; without augmentation a net learns them by heart within a
few dozen epochs. Each face gets a random mirror image and one affine warp (shift, rotation,
zoom), all small enough that the face still fills the frame as in FER2013's crops, plus, in the
``strong`` kind, random contrast, brightness and erasing (Zhong et al. 2020), which teach the
net to use the whole face rather than one telling patch.

Why NumPy and OpenCV rather than Keras preprocessing layers inside ``tf.data``: the same code
then feeds TensorFlow, JAX and PyTorch (``KERAS_BACKEND``), so a GPU machine that has PyTorch or
JAX but no TensorFlow trains the same recipe. OpenCV warps one face per call, so a batch is a
loop over its faces, but a short one: a few milliseconds per batch against the hundreds a CPU
training step takes (``benchmarks/bench_augment.py``; figures in benchmarks/README.md).

Shift, rotation and zoom are one warp, so a face is resampled once: three separate transforms
would resample it three times and blur it more.

Every random draw comes from the ``numpy.random.Generator`` passed in, so a batch is a pure
function of its seed: runs, and runs resumed after an interruption, see the same faces.
"""

from __future__ import annotations

import cv2
import numpy as np

KINDS = ("none", "standard", "strong")

#: Ranges of the random transforms (uniform draws).
MAX_SHIFT = 0.10  # of the side, each axis
MAX_ROTATION_DEGREES = 10.0
MAX_ZOOM = 0.15  # the face is scaled by 1 +- this
MAX_CONTRAST = 0.20  # (pixel - mean) is scaled by 1 +- this
MAX_BRIGHTNESS = 0.15  # of the 0..255 range, added
ERASE_PROBABILITY = 0.25
ERASE_SIDES = (0.1, 0.4)  # of the side, each of the rectangle's height and width


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown augmentation {kind!r}; one of {', '.join(KINDS)}")
    return kind


def affine_matrices(count: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """(count, 2, 3) random warps: a mirror image half the time, then rotation and zoom about the
    centre and a shift."""
    flip = np.where(rng.random(count) < 0.5, -1.0, 1.0)
    angle = np.radians(rng.uniform(-MAX_ROTATION_DEGREES, MAX_ROTATION_DEGREES, count))
    scale = rng.uniform(1.0 - MAX_ZOOM, 1.0 + MAX_ZOOM, count)
    shift = rng.uniform(-MAX_SHIFT, MAX_SHIFT, (count, 2)) * size
    cos, sin = scale * np.cos(angle), scale * np.sin(angle)
    centre = (size - 1) / 2.0
    matrices = np.empty((count, 2, 3), dtype=np.float64)
    # x' = R S F (x - c) + c + t, with F mirroring x.
    matrices[:, 0, 0], matrices[:, 0, 1] = cos * flip, -sin
    matrices[:, 1, 0], matrices[:, 1, 1] = sin * flip, cos
    matrices[:, :, 2] = centre - np.einsum("nij,j->ni", matrices[:, :, :2], np.array([centre, centre])) + shift
    return matrices


def warp(images: np.ndarray, matrices: np.ndarray) -> np.ndarray:
    """Each (H, W) image warped by its matrix, bilinear, borders mirrored (no black corners)."""
    size = images.shape[2], images.shape[1]
    out = np.empty(images.shape, dtype=np.float32)
    for i, (image, matrix) in enumerate(zip(images, matrices)):
        out[i] = cv2.warpAffine(image, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return out


def adjust_photometry(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random contrast about each face's mean, then a random brightness shift, in place."""
    count = len(images)
    contrast = rng.uniform(1.0 - MAX_CONTRAST, 1.0 + MAX_CONTRAST, count)[:, None, None]
    means = images.mean(axis=(1, 2), keepdims=True)
    images -= means
    images *= contrast
    images += means + rng.uniform(-MAX_BRIGHTNESS, MAX_BRIGHTNESS, count)[:, None, None] * 255.0
    return images


def erase_rectangles(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Fill one random rectangle with noise in a quarter of the faces, in place."""
    count, height, width = images.shape
    chosen = np.flatnonzero(rng.random(count) < ERASE_PROBABILITY)
    for i in chosen:
        h = max(1, int(height * rng.uniform(*ERASE_SIDES)))
        w = max(1, int(width * rng.uniform(*ERASE_SIDES)))
        y, x = int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1))
        images[i, y : y + h, x : x + w] = rng.uniform(0.0, 255.0, (h, w))
    return images


def augment_batch(images: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """A randomly transformed float32 copy (N, H, W) of uint8 or float faces (N, H, W), in 0..255."""
    check_kind(kind)
    if kind == "none":
        return images.astype(np.float32)
    out = warp(images.astype(np.float32, copy=False), affine_matrices(len(images), images.shape[1], rng))
    if kind == "strong":
        adjust_photometry(out, rng)
        erase_rectangles(out, rng)
    return np.clip(out, 0.0, 255.0, out=out)


def batch_rng(seed: int, epoch: int, batch: int) -> np.random.Generator:
    """The generator of one batch of one epoch: independent of the order batches are made in."""
    return np.random.default_rng([seed, epoch, batch])

