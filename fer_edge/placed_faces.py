"""Test videos with known answers: real FER2013 faces pasted at known places into 640x480 frames.

The tests, the benchmarks and the arm64 check all score ``fer-edge run`` on such a video: where
each face is, which dataset face it is, and its label are known, so found faces, false boxes and
labels can be counted. Videos are built in temporary folders and never kept in the repository.
Import-light (NumPy and OpenCV), so the device environment can build and score them too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from fer_edge.contract import CLASS_NAMES, Dataset
from fer_edge.device.smoothing import box_intersection, box_iou

FRAME_WIDTH, FRAME_HEIGHT = 640, 480
#: IoU at which a detected box counts as the placed face, and below which it is a false box.
FOUND_IOU = 0.5
FALSE_IOU = 0.3
#: A box this much inside a placed crop, and at least this share of its side, is on the face
#: (:func:`found_matrix` says why).
INSIDE_SHARE = 0.8
MIN_SIDE = 0.4


@dataclass
class PlacedVideo:
    """A video file and, per frame, the box (x, y, w, h) and ``test/`` index of each face in it."""

    path: Path
    boxes: list[list[list[int]]]
    indices: list[list[int]]

    @property
    def frames(self) -> int:
        return len(self.boxes)

    @property
    def placed(self) -> int:
        return sum(len(frame) for frame in self.boxes)


def paste_face(frame: np.ndarray, face: np.ndarray, x: int, y: int, size: int) -> None:
    """Enlarge a 48x48 face to ``size`` and paste it with its edges repeated around it.

    FER2013 crops end at the chin and hairline; the Haar cascade needs a little context beyond
    them, which the repeated edge (1/6 of the size) gives without inventing content.
    """
    big = cv2.resize(face, (size, size), interpolation=cv2.INTER_CUBIC)
    pad = size // 6
    big = cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    frame[y - pad : y + size + pad, x - pad : x + size + pad] = big[..., np.newaxis] if frame.ndim == 3 else big


def noise_frame(rng: np.random.Generator, channels: int = 0) -> np.ndarray:
    """A 640x480 frame of flat grey sensor-like noise (grayscale, or ``channels`` equal channels)."""
    shape = (FRAME_HEIGHT, FRAME_WIDTH, channels) if channels else (FRAME_HEIGHT, FRAME_WIDTH)
    return np.clip(rng.normal(110, 6, shape), 0, 255).astype(np.uint8)


def free_spot(rng: np.random.Generator, size: int, taken: list[list[int]], tries: int = 200) -> tuple[int, int] | None:
    """A random top-left corner for a ``size`` px face whose pasted square (with its repeated edge)
    stays 10 px inside the frame and clear of the faces in ``taken``; None when there is no room."""
    pad = size // 6
    low, high_x, high_y = pad + 10, FRAME_WIDTH - size - pad - 10, FRAME_HEIGHT - size - pad - 10
    if high_x <= low or high_y <= low:
        return None
    for _ in range(tries):
        x, y = int(rng.integers(low, high_x)), int(rng.integers(low, high_y))
        if all(apart((x, y, size), (tx, ty, ts)) for tx, ty, ts, _ in taken):
            return x, y
    return None


def apart(a: tuple[int, int, int], b: tuple[int, int, int], gap: int = 4) -> bool:
    """Whether two pasted faces ``(x, y, size)``, each with its repeated edge, are ``gap`` px apart or more."""
    (ax, ay, asize), (bx, by, bsize) = a, b
    apad, bpad = asize // 6, bsize // 6
    return (
        ax + asize + apad + gap <= bx - bpad
        or bx + bsize + bpad + gap <= ax - apad
        or ay + asize + apad + gap <= by - bpad
        or by + bsize + bpad + gap <= ay - apad
    )


@dataclass
class PlacedFrames:
    """Grayscale frames in memory and, per frame, the box (x, y, w, h) and ``test/`` index of each face."""

    frames: list[np.ndarray]
    boxes: list[list[list[int]]]
    indices: list[list[int]]


def place_faces(
    data: Dataset,
    frames: int,
    sizes: tuple[int, int],
    seed: int,
    per_frame: tuple[int, int] = (1, 1),
) -> PlacedFrames:
    """``frames`` noisy 640x480 frames, each with ``per_frame`` (lowest, highest) test faces of
    ``sizes`` (smallest, largest) px placed where they do not overlap. A face that finds no room is
    tried again smaller, down to the smallest size; 0 faces per frame gives empty frames."""
    rng = np.random.default_rng(seed)
    placed = PlacedFrames([], [], [])
    for _ in range(frames):
        frame = noise_frame(rng)
        boxes: list[list[int]] = []
        indices: list[int] = []
        for _ in range(int(rng.integers(per_frame[0], per_frame[1] + 1))):
            size = int(rng.integers(sizes[0], sizes[1] + 1))
            spot = free_spot(rng, size, boxes)
            while spot is None and size > sizes[0]:
                size = max(sizes[0], int(size * 0.9))
                spot = free_spot(rng, size, boxes)
            if spot is None:
                raise ValueError(f"no room for {per_frame[1]} faces of {sizes[0]} px in a {FRAME_WIDTH}x{FRAME_HEIGHT} frame")
            index = int(rng.integers(len(data)))
            paste_face(frame, data.images[index], *spot, size)
            boxes.append([*spot, size, size])
            indices.append(index)
        placed.frames.append(frame)
        placed.boxes.append(boxes)
        placed.indices.append(indices)
    return placed


def moving_faces(data: Dataset, clips: int, clip_frames: int, size: int, speed: float, seed: int) -> PlacedFrames:
    """``clips`` runs of ``clip_frames`` frames, each with one test face of ``size`` px drifting
    ``speed`` px per frame in a random direction (turning back at the frame's edges): a person
    moving in front of a camera, for detectors that skip frames and carry boxes over."""
    rng = np.random.default_rng(seed)
    placed = PlacedFrames([], [], [])
    pad = size // 6
    low, high = np.array([pad + 10, pad + 10]), np.array([FRAME_WIDTH - size - pad - 10, FRAME_HEIGHT - size - pad - 10])
    for _ in range(clips):
        index = int(rng.integers(len(data)))
        position = rng.uniform(low, high)
        angle = rng.uniform(0, 2 * np.pi)
        velocity = speed * np.array([np.cos(angle), np.sin(angle)])
        for _ in range(clip_frames):
            frame = noise_frame(rng)
            x, y = (int(v) for v in np.round(position))
            paste_face(frame, data.images[index], x, y, size)
            placed.frames.append(frame)
            placed.boxes.append([[x, y, size, size]])
            placed.indices.append([index])
            position = position + velocity
            bounced = (position < low) | (position > high)
            velocity[bounced] *= -1
            position = np.clip(position, low, high)
    return placed


def one_face_each(placed: PlacedFrames, data: Dataset, seed: int) -> PlacedFrames:
    """Every face of ``placed`` alone in a frame of its own, at the same place and size: what a
    group's faces are found against, with the same faces and places."""
    rng = np.random.default_rng(seed)
    alone = PlacedFrames([], [], [])
    for boxes, indices in zip(placed.boxes, placed.indices):
        for (x, y, size, _), index in zip(boxes, indices):
            frame = noise_frame(rng)
            paste_face(frame, data.images[index], x, y, size)
            alone.frames.append(frame)
            alone.boxes.append([[x, y, size, size]])
            alone.indices.append([index])
    return alone


def found_matrix(truth: np.ndarray, detected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(len(truth), len(detected)) whether each box found each face, and each pair's IoU.

    A box found a face when their IoU is at least :data:`FOUND_IOU`, or when it lies on the face
    inside a loose crop: FER2013's crops differ in how much of them the face fills (from about half
    to all of the side), and a detector boxes the face, not the crop. So a box at least
    :data:`INSIDE_SHARE` inside the placed crop, at least :data:`MIN_SIDE` of its side and centred
    in the crop's middle half found it.
    """
    iou = box_iou(truth, detected)
    inside = box_intersection(truth, detected) / np.maximum(detected[:, 2] * detected[:, 3], 1e-9)
    side = detected[:, 2] / np.maximum(truth[:, 2:3], 1e-9)
    centre_t, centre_d = truth[:, None, :2] + truth[:, None, 2:] / 2, detected[None, :, :2] + detected[None, :, 2:] / 2
    off = np.abs(centre_d - centre_t) / np.maximum(truth[:, None, 2:], 1e-9)
    off_x, off_y = off[..., 0], off[..., 1]
    on_face = (inside >= INSIDE_SHARE) & (side >= MIN_SIDE) & (off_x <= 0.25) & (off_y <= 0.25)
    return (iou >= FOUND_IOU) | on_face, iou


def match_faces(truth: np.ndarray | list, detected: np.ndarray | list) -> tuple[list[int | None], int]:
    """Which detected box found each true face (its index, or None), and how many boxes are false.

    Each face is found by the box of highest IoU among those that found it (:func:`found_matrix`).
    False boxes: those that found no face and have IoU under :data:`FALSE_IOU` with every face,
    and second boxes on a face already found.
    """
    truth = np.asarray(truth, dtype=np.float64).reshape(-1, 4)
    detected = np.asarray(detected, dtype=np.float64).reshape(-1, 4)
    if len(detected) == 0:
        return [None] * len(truth), 0
    if len(truth) == 0:
        return [], len(detected)
    found, iou = found_matrix(truth, detected)
    ranked = np.where(found, iou, -1.0)
    matches = [int(row.argmax()) if row.max() >= 0 else None for row in ranked]
    elsewhere = ~found.any(axis=0) & (iou.max(axis=0) < FALSE_IOU)
    used = np.zeros(len(detected), dtype=bool)
    used[[m for m in matches if m is not None]] = True
    duplicates = found.any(axis=0) & ~used
    return matches, int((elsewhere | duplicates).sum())


def build_video(
    path: str | os.PathLike[str],
    data: Dataset,
    frames: int,
    seed: int,
    pair_every: int = 4,
    fps: float = 10.0,
) -> PlacedVideo:
    """One face per frame (120-200 px) on grey noise; two (120-160 px, left and right halves) in
    every ``pair_every``-th frame, none when it is 0. Written as MPEG-4 at ``fps``."""
    rng = np.random.default_rng(seed)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (FRAME_WIDTH, FRAME_HEIGHT))
    boxes, indices = [], []
    for i in range(frames):
        frame = np.clip(rng.normal(110, 6, (FRAME_HEIGHT, FRAME_WIDTH, 3)), 0, 255).astype(np.uint8)
        paired = pair_every > 0 and i % pair_every == 0
        halves = [(0, FRAME_WIDTH // 2), (FRAME_WIDTH // 2, FRAME_WIDTH)] if paired else [(0, FRAME_WIDTH)]
        frame_boxes, frame_indices = [], []
        for left, right in halves:
            size = int(rng.integers(120, 161 if paired else 201))
            pad = size // 6
            x = int(rng.integers(left + pad + 10, right - size - pad - 10))
            y = int(rng.integers(pad + 10, FRAME_HEIGHT - size - pad - 10))
            index = int(rng.integers(len(data)))
            paste_face(frame, data.images[index], x, y, size)
            frame_boxes.append([x, y, size, size])
            frame_indices.append(index)
        writer.write(frame)
        boxes.append(frame_boxes)
        indices.append(frame_indices)
    writer.release()
    return PlacedVideo(Path(path), boxes, indices)


@dataclass
class PlacedScore:
    """What a run made of a placed-face video: per placed face, the label it got (None: not found)."""

    labels: list[int | None] = field(default_factory=list)
    indices: list[int] = field(default_factory=list)
    false_boxes: int = 0

    @property
    def placed(self) -> int:
        return len(self.labels)

    @property
    def found(self) -> int:
        return sum(label is not None for label in self.labels)

    @property
    def found_rate(self) -> float:
        return self.found / max(self.placed, 1)


def score_run(video: PlacedVideo | PlacedFrames, frames: list[list[dict]]) -> PlacedScore:
    """Match each frame's faces (``fer-edge run --json`` lines' ``faces``) with the placed ones
    (:func:`match_faces`)."""
    if len(frames) != len(video.boxes):
        raise ValueError(f"the run has {len(frames)} frames; the video has {len(video.boxes)}")
    result = PlacedScore()
    for faces, boxes, indices in zip(frames, video.boxes, video.indices):
        found, false = match_faces(boxes, [face["box"] for face in faces])
        result.false_boxes += false
        result.indices.extend(indices)
        result.labels.extend(None if k is None else CLASS_NAMES.index(faces[k]["emotion"]) for k in found)
    return result
