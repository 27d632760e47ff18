"""What the web view shows of a run: the newest annotated frame as JPEG, counts, a timeline, rates.

The run loop hands each frame to :meth:`LiveView.publish`, which only swaps a reference and adds
counts under a lock, so viewers cannot slow the pipeline. Drawing and JPEG encoding happen in the
view's own thread, at most ``stream_fps`` times a second and only while someone watches, once
per frame for all viewers; each viewer then takes the newest JPEG when it is ready for one, and
the frames it was too slow for are simply never sent to it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import cv2
import numpy as np

from fer_edge.contract import CLASS_NAMES
from fer_edge.device.results import FrameResult

#: How far back the emotion timeline reaches, in one-second buckets.
TIMELINE_SECONDS = 300
#: Frames the current FPS and stage times are averaged over (at most this many seconds back).
RATE_WINDOW_S = 5.0


@dataclass(frozen=True)
class Jpeg:
    """One encoded frame, numbered so a viewer can tell a new one from the one it last sent."""

    number: int
    data: bytes


class JpegFeed:
    """The newest annotated frame as JPEG, encoded in a thread of its own for every viewer."""

    def __init__(self, max_fps: float = 15.0, quality: int = 70) -> None:
        self.min_interval = 1.0 / max_fps
        self.quality = quality
        self._changed = threading.Condition()
        self._pending: tuple[FrameResult, np.ndarray] | None = None
        self._latest: Jpeg | None = None
        self._viewers = 0
        self._stopped = False
        self._thread = threading.Thread(target=self._encode_forever, name="fer-edge-jpeg", daemon=True)
        self._thread.start()

    @property
    def viewers(self) -> int:
        return self._viewers

    def offer(self, result: FrameResult, image: np.ndarray) -> None:
        """The run's newest frame: kept (by reference) for the encoder, replacing an older one."""
        with self._changed:
            self._pending = (result, image)
            self._changed.notify_all()

    @contextmanager
    def watching(self) -> Iterator[None]:
        """Count a viewer for as long as it is connected: frames are encoded only while one is."""
        with self._changed:
            self._viewers += 1
            self._changed.notify_all()
        try:
            yield
        finally:
            with self._changed:
                self._viewers -= 1

    def next_after(self, number: int, timeout: float = 1.0) -> Jpeg | None:
        """The newest JPEG if it is newer than ``number``; waits up to ``timeout`` for one, else None."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not self._stopped:
                if self._latest is not None and self._latest.number > number:
                    return self._latest
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._changed.wait(left)
        return None

    def stop(self) -> None:
        with self._changed:
            self._stopped = True
            self._changed.notify_all()
        self._thread.join(timeout=5)

    def _encode_forever(self) -> None:
        last_encoded = 0.0
        number = 0
        while True:
            with self._changed:
                while not self._stopped and (self._pending is None or self._viewers == 0):
                    self._changed.wait()
                if self._stopped:
                    return
            wait = last_encoded + self.min_interval - time.monotonic()
            if wait > 0:  # the frame rate cap: newer frames may arrive meanwhile, the newest is taken
                time.sleep(wait)
            with self._changed:
                pending, self._pending = self._pending, None
            if pending is None:
                continue
            result, image = pending
            ok, encoded = cv2.imencode(".jpg", result.draw(image), [cv2.IMWRITE_JPEG_QUALITY, self.quality])
            last_encoded = time.monotonic()
            if not ok:
                continue
            number += 1
            with self._changed:
                self._latest = Jpeg(number, encoded.tobytes())
                self._changed.notify_all()


class LiveStats:
    """Running totals, current rates and a per-second emotion timeline, read by the page and /metrics."""

    def __init__(self, timeline_seconds: int = TIMELINE_SECONDS) -> None:
        self._lock = threading.Lock()
        self.started = time.time()
        self.frames = 0
        self.faces = {name: 0 for name in CLASS_NAMES}
        self._recent: deque[tuple[float, float, float, float]] = deque()  # (time, read, detect, classify)
        self._timeline: deque[tuple[int, list[int]]] = deque(maxlen=timeline_seconds)
        self._latest: FrameResult | None = None

    def add(self, result: FrameResult) -> None:
        now = time.time()
        second = int(now)
        with self._lock:
            self.frames += 1
            self._latest = result
            times = result.times
            self._recent.append((now, times.read, times.detect, times.classify))
            while self._recent and now - self._recent[0][0] > RATE_WINDOW_S:
                self._recent.popleft()
            if not self._timeline or self._timeline[-1][0] != second:
                self._timeline.append((second, [0] * len(CLASS_NAMES)))
            counts = self._timeline[-1][1]
            for face in result.faces:
                self.faces[face.emotion] += 1
                counts[face.label] += 1

    @property
    def latest(self) -> FrameResult | None:
        return self._latest

    def fps(self) -> float:
        """Frames per second over the last few seconds (0 before two frames or after a stall)."""
        with self._lock:
            recent = list(self._recent)
        if len(recent) < 2 or time.time() - recent[-1][0] > RATE_WINDOW_S:
            return 0.0
        return (len(recent) - 1) / max(recent[-1][0] - recent[0][0], 1e-9)

    def stage_ms(self) -> dict[str, float]:
        """Mean milliseconds per frame of each stage over the last few seconds."""
        with self._lock:
            recent = list(self._recent)
        if not recent:
            return {"read": 0.0, "detect": 0.0, "classify": 0.0}
        sums = np.asarray([r[1:] for r in recent]).mean(axis=0) * 1000.0
        return {"read": float(sums[0]), "detect": float(sums[1]), "classify": float(sums[2])}

    def snapshot(self) -> dict:
        """Everything the page shows, as one JSON-ready dict."""
        with self._lock:
            timeline = [{"t": second, "counts": list(counts)} for second, counts in self._timeline]
            faces = dict(self.faces)
            frames = self.frames
        return {
            "frames": frames,
            "fps": round(self.fps(), 1),
            "stage_ms": {k: round(v, 2) for k, v in self.stage_ms().items()},
            "faces": faces,
            "emotions": list(CLASS_NAMES),
            "timeline": timeline,
            "uptime_s": round(time.time() - self.started, 1),
        }


class LiveView:
    """The run's side of the web view: what :mod:`fer_edge.device.web_server` serves."""

    def __init__(self, stream_fps: float = 15.0, quality: int = 70) -> None:
        self.feed = JpegFeed(stream_fps, quality)
        self.stats = LiveStats()

    def publish(self, result: FrameResult, image: np.ndarray) -> None:
        """Called by the run loop for every frame; cheap (no drawing, no encoding)."""
        self.stats.add(result)
        self.feed.offer(result, image)

    def close(self) -> None:
        self.feed.stop()
