"""Steady labels on live video: average each face's probabilities over its last few frames.

A face is followed from frame to frame by box overlap (IoU), which is enough at camera rate where a
face moves a fraction of its size between frames; a face not seen for a few frames is forgotten, so
a new person stepping into the same place does not inherit the last one's mood for long.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np


def box_intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise overlapping area (len(a), len(b)) of ``x, y, w, h`` boxes."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    ax0, ay0, ax1, ay1 = a[:, 0:1], a[:, 1:2], a[:, 0:1] + a[:, 2:3], a[:, 1:2] + a[:, 3:4]
    bx0, by0, bx1, by1 = b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax1, bx1) - np.maximum(ax0, bx0), 0, None)
    ih = np.clip(np.minimum(ay1, by1) - np.maximum(ay0, by0), 0, None)
    return iw * ih


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU (len(a), len(b)) of ``x, y, w, h`` boxes."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    inter = box_intersection(a, b)
    union = a[:, 2:3] * a[:, 3:4] + b[:, 2] * b[:, 3] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


@dataclass
class Track:
    box: np.ndarray
    history: deque
    last_seen: int


@dataclass
class FaceSmoother:
    """Per-face moving average of class probabilities over the last ``window`` frames it was seen in."""

    window: int = 5
    min_iou: float = 0.3
    max_missing: int = 5
    tracks: list[Track] = field(default_factory=list)

    def update(self, frame_index: int, boxes: np.ndarray, probs: np.ndarray) -> np.ndarray:
        """Smoothed probabilities for this frame's faces, in the order given."""
        self.tracks = [t for t in self.tracks if frame_index - t.last_seen <= self.max_missing]
        assigned = self._match(boxes)
        smoothed = np.empty_like(probs)
        for i, (box, p) in enumerate(zip(boxes, probs)):
            track = assigned.get(i)
            if track is None:
                track = Track(np.asarray(box), deque(maxlen=self.window), frame_index)
                self.tracks.append(track)
            track.box, track.last_seen = np.asarray(box), frame_index
            track.history.append(p)
            smoothed[i] = np.mean(track.history, axis=0)
        return smoothed

    def _match(self, boxes: np.ndarray) -> dict[int, Track]:
        """Greedy one-to-one matching of faces to tracks, best overlap first."""
        if not self.tracks or len(boxes) == 0:
            return {}
        iou = box_iou(np.stack([t.box for t in self.tracks]), boxes)
        matches: dict[int, Track] = {}
        for flat in np.argsort(-iou, axis=None):
            ti, fi = np.unravel_index(flat, iou.shape)
            if iou[ti, fi] < self.min_iou:
                break
            track = self.tracks[ti]
            if fi in matches or any(m is track for m in matches.values()):
                continue
            matches[int(fi)] = track
        return matches

    def reset(self) -> None:
        self.tracks.clear()
