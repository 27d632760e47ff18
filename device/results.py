"""What one frame of ``fer-edge run`` found, and what a whole run did.

One object per frame gives every output its shape: the JSON line (``to_json``), the overlay
(``draw``), the console line (``str``), and the numbers the end-of-run summary adds up, so the
window, the ``--json`` stream and the summary can never disagree.

The ``--json`` line of a frame (one line each, keys in this order)::

    {"frame": 0, "time": 0.0, "source": "img.png",
     "faces": [{"box": [x, y, w, h], "emotion": "happy", "score": 0.93,
                "probs": {"angry": 0.01, ..., "neutral": 0.02}}]}

``frame`` counts from 0; ``time`` is seconds into a video, since a camera opened, or the image's
index; ``source`` (images only) is the image's file name; ``box`` is in frame pixels, inside the
frame; ``probs`` has every class in the contract's order.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field

import cv2
import numpy as np

from fer_edge.contract import CLASS_NAMES
from fer_edge.device.labels import place_labels

#: BGR colour of each class's box, in CLASS_NAMES order.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (40, 40, 230),  # angry: red
    (40, 140, 40),  # disgust: green
    (160, 60, 160),  # fear: purple
    (40, 210, 250),  # happy: yellow
    (200, 110, 30),  # sad: blue
    (20, 140, 255),  # surprise: orange
    (200, 200, 200),  # neutral: grey
)


@dataclass(frozen=True)
class Face:
    """One face: its box ``(x, y, w, h)`` in frame pixels and its class probabilities (7,)."""

    box: tuple[int, int, int, int]
    probs: np.ndarray

    @property
    def label(self) -> int:
        return int(np.argmax(self.probs))

    @property
    def emotion(self) -> str:
        return CLASS_NAMES[self.label]

    @property
    def score(self) -> float:
        return float(self.probs[self.label])

    def to_dict(self) -> dict:
        return {
            "box": [int(v) for v in self.box],
            "emotion": self.emotion,
            "score": round(self.score, 4),
            "probs": {name: round(float(p), 4) for name, p in zip(CLASS_NAMES, self.probs)},
        }


@dataclass(frozen=True)
class StageTimes:
    """Seconds spent on one frame in each stage."""

    read: float = 0.0
    detect: float = 0.0
    classify: float = 0.0


@dataclass(frozen=True)
class FrameResult:
    """Faces found in frame ``index`` (0-based) at ``time`` seconds, what it cost, and the image
    file it came from (``source``; ``None`` for video and cameras)."""

    index: int
    time: float
    faces: tuple[Face, ...]
    times: StageTimes = StageTimes()
    source: str | None = None

    def to_dict(self) -> dict:
        line: dict = {"frame": self.index, "time": round(self.time, 3)}
        if self.source is not None:
            line["source"] = self.source
        line["faces"] = [f.to_dict() for f in self.faces]
        return line

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    def __str__(self) -> str:
        found = "; ".join(f"{f.emotion} {f.score:.2f} at {list(f.box)}" for f in self.faces) or "no face"
        where = self.source if self.source is not None else f"{self.time:.2f} s"
        return f"frame {self.index} ({where}): {found}"

    def draw(self, image: np.ndarray) -> np.ndarray:
        """A BGR copy of ``image`` with each face's box and ``emotion score`` on it, no label over another."""
        canvas = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image[..., :3].copy()
        thickness = max(1, round(canvas.shape[1] / 320))
        for face in self.faces:
            x, y, w, h = face.box
            cv2.rectangle(canvas, (x, y), (x + w - 1, y + h - 1), PALETTE[face.label], thickness)  # inside the frame
        for face, label in zip(self.faces, self.labels((canvas.shape[1], canvas.shape[0]), thickness)):
            x, y, w, h = label.rect
            cv2.rectangle(canvas, (x, y), (x + w - 1, y + h - 1), PALETTE[face.label], cv2.FILLED)
            cv2.putText(canvas, label.text, (x + 2, y + label.text_height + 2), cv2.FONT_HERSHEY_SIMPLEX, 0.5 * thickness, (0, 0, 0), thickness, cv2.LINE_AA)
        return canvas

    def labels(self, frame: tuple[int, int], thickness: int = 1) -> list[Label]:
        """Each face's label and where :meth:`draw` puts it in a ``frame`` (width, height)."""
        texts = [f"{face.emotion} {face.score:.0%}" for face in self.faces]
        metrics = [cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.5 * thickness, thickness) for text in texts]
        sizes = [(tw + 4, th + base + 4) for (tw, th), base in metrics]
        rects = place_labels([face.box for face in self.faces], sizes, frame, line=thickness)
        return [Label(text, rect, th) for text, rect, ((_, th), _) in zip(texts, rects, metrics)]


@dataclass(frozen=True)
class Label:
    """A face's label on the overlay: its text, its rectangle ``x, y, w, h`` and the text's height."""

    text: str
    rect: tuple[int, int, int, int]
    text_height: int


@dataclass
class RunSummary:
    """Totals of a run, printed at its end (and on Ctrl-C) as a short table."""

    source: str
    model: str
    backend: str
    threads: int
    overlapped: bool = False  # read + detect ran in a thread beside classify (device/background.py)
    frames: int = 0
    faces: int = 0
    frames_with_faces: int = 0
    read_s: float = 0.0
    detect_s: float = 0.0
    classify_s: float = 0.0
    wall_s: float = 0.0
    stopped: str = "end of source"
    emotions: dict[str, int] = field(default_factory=lambda: {name: 0 for name in CLASS_NAMES})
    _started: float = field(default_factory=time.perf_counter, repr=False)

    def add(self, result: FrameResult) -> None:
        self.frames += 1
        self.faces += len(result.faces)
        self.frames_with_faces += bool(result.faces)
        self.read_s += result.times.read
        self.detect_s += result.times.detect
        self.classify_s += result.times.classify
        for face in result.faces:
            self.emotions[face.emotion] += 1
        self.wall_s = time.perf_counter() - self._started

    def finish(self, stopped: str) -> "RunSummary":
        self.stopped = stopped
        self.wall_s = time.perf_counter() - self._started
        return self

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0

    def per_frame_ms(self, seconds: float) -> float:
        return 1000.0 * seconds / self.frames if self.frames else 0.0

    def to_dict(self) -> dict:
        data = {k: v for k, v in asdict(self).items() if not k.startswith("_")}
        data["fps"] = round(self.fps, 2)
        return data

    def table(self) -> str:
        busy = self.read_s + self.detect_s + self.classify_s
        other = max(0.0, self.wall_s - busy)
        rows = [
            f"{self.frames} frames, {self.faces} faces ({self.frames_with_faces} frames with a face) "
            f"in {self.wall_s:.1f} s: {self.fps:.1f} FPS [{self.stopped}]",
            f"  {'stage':<10}{'ms/frame':>10}{'share':>8}",
        ]
        stages = [("read", self.read_s), ("detect", self.detect_s), ("classify", self.classify_s)]
        for name, seconds in stages if self.overlapped else [*stages, ("other", other)]:
            share = seconds / self.wall_s if self.wall_s > 0 else 0.0
            rows.append(f"  {name:<10}{self.per_frame_ms(seconds):>10.1f}{share:>8.0%}")
        if self.overlapped:
            rows.append("  (read and detect ran beside classify, in a second thread: shares add up to more than 100%)")
        seen = ", ".join(f"{name} {n}" for name, n in self.emotions.items() if n)
        if seen:
            rows.append(f"  faces by emotion: {seen}")
        rows.append(f"  model {self.model} on {self.backend}, {self.threads} thread(s); source {self.source}")
        return "\n".join(rows)
