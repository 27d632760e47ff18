"""Run a generator in a background thread, a few items ahead of its consumer.

With ``fer-edge run --overlap`` it reads and detects the next frame while the current one is
classified: OpenCV and the TFLite interpreter release the GIL, so the two stages run on separate
cores at once and a frame costs the slower stage instead of both, at one frame more latency.

It pays only when classifying costs about as much as detecting, since each stage gets half the
cores; with ai_edge_litert classifying is the cheap stage, so it is off by default.
``benchmarks/bench_runtime.py`` prints both ways (figures in benchmarks/README.md).
"""

from __future__ import annotations

import queue
import threading
from typing import Iterator, TypeVar

T = TypeVar("T")

_DONE = object()


class _Raised:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def in_background(items: Iterator[T], depth: int = 2, stop: threading.Event | None = None) -> Iterator[T]:
    """Yield ``items`` as a background thread produces them, at most ``depth`` ahead.

    An exception in the producer is raised here, at the item where it happened. Closing this
    generator (``break``, Ctrl-C, garbage collection) sets ``stop``, which the producer may also
    watch inside a long wait (a camera being retried), and waits for the producer to end, so the
    caller may then close what it reads from: closing a camera under a running read can crash.
    A second Ctrl-C during that wait is therefore ignored; the wait is one frame's read.
    """
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = stop or threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as error:  # handed to the consumer, which decides
            put(_Raised(error))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="fer-edge-detect", daemon=True)
    worker.start()
    try:
        while True:
            item = ready.get()
            if item is _DONE:
                return
            if isinstance(item, _Raised):
                raise item.error
            yield item
    finally:
        stop.set()
        while worker.is_alive():
            try:
                worker.join(0.1)
            except KeyboardInterrupt:
                continue
