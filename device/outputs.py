"""Where results go: the ``--json`` line stream, the ``--record`` video and the preview window.

The window exists only where OpenCV has a GUI and there is a display to put it on;
opencv-python-headless (what the device extra installs) has none, so ``open_window`` says why not
and the runner carries on headless.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable, TextIO

import cv2
import numpy as np

from fer_edge.device.results import FrameResult
from fer_edge.errors import FerEdgeError
from fer_edge.files import check_output_path

WINDOW_TITLE = "fer-edge (q or Esc to quit)"


class OutputError(FerEdgeError):
    """An output could not be written mid-run: the run stops, prints its summary, then says why."""


class JsonLines:
    """One JSON object per frame, to a file or to stdout (``-``), flushed as it goes.

    The file is checked up front but opened on the first frame, so a run that gets no frame
    (a camera that cannot be read) leaves an earlier file as it was and creates no empty one.
    ``append`` adds to an existing file instead of replacing it: a service that systemd restarts
    keeps what it wrote before. A line is written whole or not at all: a failed write (a full
    disk) is cut back to the last whole line, and an appended file that ends in a cut line (a
    run killed mid-write) has that line removed first, with a note to ``log``.
    """

    def __init__(self, target: str | os.PathLike[str], append: bool = False, log: Callable[[str], None] | None = None) -> None:
        self.target = str(target)
        self.mode = "a" if append else "w"
        self.log = log or (lambda text: None)
        self.stream: TextIO | None = sys.stdout if self.target == "-" else None
        if self.stream is None:
            check_output_path("--json", self.target)

    def open(self) -> TextIO:
        if self.mode == "a":
            dropped = drop_cut_last_line(Path(self.target))
            if dropped:
                self.log(f"note: --json {self.target} ended in a cut line ({dropped} bytes, a run stopped mid-write); removed it before appending")
        try:
            return open(self.target, self.mode, encoding="utf-8")
        except OSError as exc:
            raise OutputError(f"--json {self.target}: cannot write ({exc.strerror})") from None

    def write(self, result: FrameResult) -> None:
        if self.stream is None:
            self.stream = self.open()
        line = result.to_json() + "\n"
        if self.stream is sys.stdout:
            self.stream.write(line)
            self.stream.flush()
            return
        start = self.stream.tell()
        try:
            self.stream.write(line)
            self.stream.flush()
        except OSError as exc:
            self.cut_back(start)
            raise OutputError(f"--json {self.target}: cannot write ({exc.strerror or exc}); the lines before frame {result.index} are whole") from None

    def cut_back(self, size: int) -> None:
        """Drop whatever part of a failed line reached the file."""
        try:
            os.truncate(self.target, size)
        except OSError:
            pass
        try:
            self.stream.close()
        except OSError:
            pass  # its buffer could not be flushed either; the file is already cut back
        self.stream = None

    def close(self) -> None:
        if self.stream is not None and self.stream is not sys.stdout:
            try:
                self.stream.close()
            except OSError:
                pass


def drop_cut_last_line(path: Path) -> int:
    """Remove a last line without its newline from ``path``; the bytes removed (0: none)."""
    if not path.is_file() or path.stat().st_size == 0:
        return 0
    with open(path, "rb+") as file:
        size = file.seek(0, os.SEEK_END)
        tail = b""
        while size - len(tail) > 0 and b"\n" not in tail:
            step = min(4096, size - len(tail))
            file.seek(size - len(tail) - step)
            tail = file.read(step) + tail
        if tail.endswith(b"\n"):
            return 0
        keep = size - len(tail) + (tail.rfind(b"\n") + 1 if b"\n" in tail else 0)
        file.truncate(keep)
        return size - keep


class VideoRecorder:
    """The annotated frames as an MP4; opened on the first frame, whose size every frame is given."""

    def __init__(self, path: str | os.PathLike[str], fps: float) -> None:
        self.path = Path(path)
        self.fps = fps if fps > 0 else 10.0
        self.writer: cv2.VideoWriter | None = None
        self.size: tuple[int, int] | None = None
        check_output_path("--record", self.path)

    def write(self, image: np.ndarray) -> None:
        if self.writer is None:
            self.size = (image.shape[1], image.shape[0])
            self.writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, self.size)
            if not self.writer.isOpened():
                raise OutputError(f"--record {self.path}: cannot write an MP4 there (check the path and its .mp4 suffix)")
        if (image.shape[1], image.shape[0]) != self.size:
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        self.writer.write(image)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()


def no_window_reason() -> str | None:
    """Why no preview window can be shown here, or ``None`` when one can."""
    gui = [line for line in cv2.getBuildInformation().splitlines() if line.strip().startswith("GUI:")]
    if gui and gui[0].split(":", 1)[1].strip().upper() == "NONE":
        return "this OpenCV has no GUI (opencv-python-headless)"
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display ($DISPLAY is not set)"
    return None


class Window:
    """The live preview; ``show`` returns False once the user asks to quit."""

    def __init__(self) -> None:
        cv2.namedWindow(WINDOW_TITLE, cv2.WINDOW_NORMAL)

    def show(self, image: np.ndarray) -> bool:
        cv2.imshow(WINDOW_TITLE, image)
        key = cv2.waitKey(1) & 0xFF
        if key in (ord("q"), 27):
            return False
        return cv2.getWindowProperty(WINDOW_TITLE, cv2.WND_PROP_VISIBLE) >= 1

    def close(self) -> None:
        cv2.destroyAllWindows()


def open_window() -> tuple[Window | None, str | None]:
    """A preview window, or ``None`` and the reason the run goes on headless."""
    reason = no_window_reason()
    if reason is not None:
        return None, reason
    try:
        return Window(), None
    except cv2.error as exc:
        return None, f"cannot open a window ({str(exc).strip().splitlines()[-1][:80]})"
