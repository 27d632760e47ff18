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
from fer_edge.device.smoothing import box_iou

FRAME_WIDTH, FRAME_HEIGHT = 640, 480
#: IoU at which a detected box counts as the placed face, and below which it is a false box.
FOUND_IOU = 0.5
FALSE_IOU = 0.3


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
    frame[y - pad : y + size + pad, x - pad : x + size + pad] = big[..., np.newaxis]


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


def score_run(video: PlacedVideo, frames: list[list[dict]]) -> PlacedScore:
    """Match each frame's faces (``fer-edge run --json`` lines' ``faces``) with the placed ones.

    A placed face is found by the detected box of highest IoU if that is at least
    :data:`FOUND_IOU`; a detected box under :data:`FALSE_IOU` with every placed face is false.
    """
    if len(frames) != video.frames:
        raise ValueError(f"the run has {len(frames)} frames; the video has {video.frames}")
    result = PlacedScore()
    for faces, boxes, indices in zip(frames, video.boxes, video.indices):
        detected = np.array([face["box"] for face in faces]).reshape(-1, 4)
        iou = box_iou(np.array(boxes), detected)
        if len(detected):
            result.false_boxes += int((iou.max(axis=0) < FALSE_IOU).sum())
        for k, index in enumerate(indices):
            result.indices.append(index)
            if len(detected) == 0 or iou[k].max() < FOUND_IOU:
                result.labels.append(None)
            else:
                result.labels.append(CLASS_NAMES.index(faces[int(iou[k].argmax())]["emotion"]))
    return result
