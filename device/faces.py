"""Cut faces out of a frame the way FER2013's faces were cut: square, face filling it, small margin.

FER2013 crops are tight squares around the face; a detector box grown by the contract's
``face_margin`` on each side, made square, grayscale and 48x48, gives the model the framing it was
trained on. Boxes that reach past the frame edge are padded by repeating the edge pixels, so a face
at the border keeps its scale instead of being stretched.
"""

from __future__ import annotations

import cv2
import numpy as np

from fer_edge.contract import IMAGE_SIZE, PREPROCESSING

#: Share of the box side added on each side before cropping (the contract's value by default).
DEFAULT_MARGIN: float = float(PREPROCESSING["face_margin"])


def largest_first(boxes: np.ndarray) -> np.ndarray:
    """Boxes ``x, y, w, h`` by area, largest first: the order every detector returns."""
    return boxes[np.argsort(-boxes[:, 2] * boxes[:, 3], kind="stable")]


def to_gray(frame: np.ndarray) -> np.ndarray:
    """A BGR, BGRA or grayscale frame as one uint8 channel (the contract's BT.601 luma)."""
    if frame.ndim == 2:
        return frame
    if frame.shape[2] == 1:
        return frame[..., 0]
    code = cv2.COLOR_BGRA2GRAY if frame.shape[2] == 4 else cv2.COLOR_BGR2GRAY
    return cv2.cvtColor(frame, code)


def crop_square(box: tuple[int, int, int, int] | np.ndarray, margin: float = DEFAULT_MARGIN) -> tuple[int, int, int]:
    """``(x0, y0, side)`` of the square around ``box`` grown by ``margin`` of its side on each side."""
    x, y, w, h = (float(v) for v in box)
    side = max(w, h) * (1.0 + 2.0 * margin)
    cx, cy = x + w / 2.0, y + h / 2.0
    return int(round(cx - side / 2.0)), int(round(cy - side / 2.0)), max(1, int(round(side)))


def clip_box(box: tuple[int, int, int, int], width: int, height: int) -> tuple[int, int, int, int]:
    """``box`` (x, y, w, h) cut to the part inside a ``width`` x ``height`` frame, as reported and drawn.

    A detector's box may reach past the frame edge (a face at the border, a small image); the
    crop keeps that geometry (:func:`crop_face` pads), the user is shown only what is in the frame.
    """
    x, y, w, h = box
    x0, y0 = min(max(0, x), width), min(max(0, y), height)
    x1, y1 = max(x0, min(width, x + w)), max(y0, min(height, y + h))
    return x0, y0, x1 - x0, y1 - y0


def crop_face(gray: np.ndarray, box: tuple[int, int, int, int] | np.ndarray, margin: float = DEFAULT_MARGIN) -> np.ndarray:
    """One face as a 48x48 uint8 crop, FER2013-style, from a grayscale frame."""
    x0, y0, side = crop_square(box, margin)
    height, width = gray.shape[:2]
    x1, y1 = x0 + side, y0 + side
    inside = gray[max(0, y0) : min(height, y1), max(0, x0) : min(width, x1)]
    if inside.size == 0:  # a box wholly outside the frame: nothing to classify but grey
        return np.full((IMAGE_SIZE, IMAGE_SIZE), 128, dtype=np.uint8)
    pads = (max(0, -y0), max(0, y1 - height), max(0, -x0), max(0, x1 - width))
    square = cv2.copyMakeBorder(inside, *pads, cv2.BORDER_REPLICATE) if any(pads) else inside
    if side == IMAGE_SIZE and square.shape == (IMAGE_SIZE, IMAGE_SIZE):
        return np.ascontiguousarray(square)
    interpolation = cv2.INTER_AREA if side > IMAGE_SIZE else cv2.INTER_LINEAR
    return cv2.resize(square, (IMAGE_SIZE, IMAGE_SIZE), interpolation=interpolation)


def crop_faces(gray: np.ndarray, boxes: np.ndarray, margin: float = DEFAULT_MARGIN) -> np.ndarray:
    """All faces of a frame as one (K, 48, 48) uint8 batch for the classifier."""
    faces = np.empty((len(boxes), IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    for i, box in enumerate(boxes):
        faces[i] = crop_face(gray, box, margin)
    return faces
