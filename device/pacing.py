"""``--realtime``: play a video file or an image folder at the pace it was recorded, not flat out.

A file is read as fast as the pipeline goes, which suits ``--json`` and benchmarks; someone
watching it in the web view (``--serve``) or the window wants it at its own speed. Each frame is
held back until its video position (an image folder's frames are a second apart) has passed
since the first frame. The wait is not counted as reading time.
"""

from __future__ import annotations

import time

from fer_edge.device.sources import Frame


class Pacer:
    """Holds each frame back until its time since the first frame has passed on the clock."""

    def __init__(self) -> None:
        self._start: float | None = None
        self._first_time = 0.0

    def wait(self, frame: Frame) -> None:
        now = time.perf_counter()
        if self._start is None:
            self._start, self._first_time = now, frame.time
        delay = self._start + (frame.time - self._first_time) - now
        if delay > 0:
            time.sleep(delay)
