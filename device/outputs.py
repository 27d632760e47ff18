"""Where results go: the ``--json`` line stream, the ``--record`` video and the preview window.

The window exists only where OpenCV has a GUI and there is a display to put it on;
opencv-python-headless (what the device extra installs) has none, so ``open_window`` says why not
and the runner carries on headless.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from fer_edge.device.results import FrameResult
from fer_edge.errors import FerEdgeError
from fer_edge.device.sources import quiet_opencv
from fer_edge.files import check_output_path, remove_stale_temporaries

WINDOW_TITLE = "fer-edge (q or Esc to quit)"


class OutputError(FerEdgeError):
    """An output could not be written mid-run: the run stops, prints its summary, then says why."""


class JsonLines:
    """One JSON object per frame, to a file, a pipe or stdout (``-``), written as it goes.

    The line's shape is :class:`~fer_edge.device.results.FrameResult`'s (documented there).

    The file is checked up front but opened on the first frame, so a run that gets no frame
    (a camera that cannot be read) leaves an earlier file as it was and creates no empty one.
    ``append`` adds to an existing file instead of replacing it: a service that systemd restarts
    keeps what it wrote before. A line reaches a file whole or not at all: lines are written
    unbuffered, a failed write (a full disk) is cut back to the last whole line, and an appended
    file that ends in a cut line of an earlier run (killed mid-write) has that line removed
    first, with a note to ``log``.
    """

    def __init__(self, target: str | os.PathLike[str], append: bool = False, log: Callable[[str], None] | None = None) -> None:
        self.target = str(target)
        self.append = append
        self.log = log or (lambda text: None)
        self.fd: int | None = None
        self.regular = False  # a regular file, which a failed line can be cut out of
        if self.target != "-":
            check_output_path("--json", self.target)

    def open(self) -> int:
        if self.append:
            dropped = drop_cut_last_line(Path(self.target))
            if dropped:
                self.log(f"note: --json {self.target} ended in a cut line ({dropped} bytes, a run stopped mid-write); removed it before appending")
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if self.append else os.O_TRUNC)
        try:
            fd = os.open(self.target, flags, 0o644)
        except OSError as exc:
            raise OutputError(f"--json {self.target}: cannot write ({exc.strerror})") from None
        self.regular = stat.S_ISREG(os.fstat(fd).st_mode)
        return fd

    def write(self, result: FrameResult) -> None:
        line = (result.to_json() + "\n").encode("utf-8")
        if self.target == "-":
            try:
                sys.stdout.buffer.write(line)
                sys.stdout.flush()
            except BrokenPipeError:
                raise  # the reader has gone: the runner stops quietly
            except OSError as exc:
                raise OutputError(f"--json -: cannot write to standard output ({exc.strerror or exc})") from None
            return
        if self.fd is None:
            self.fd = self.open()
        start = os.lseek(self.fd, 0, os.SEEK_END) if self.regular else None
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(self.fd, view) :]
        except BrokenPipeError:
            raise
        except OSError as exc:
            if start is not None:
                try:
                    os.ftruncate(self.fd, start)
                except OSError:
                    pass
            self.close()
            raise OutputError(f"--json {self.target}: cannot write ({exc.strerror or exc}); the lines before frame {result.index} are whole") from None

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def drop_cut_last_line(path: Path) -> int:
    """Remove a cut last line (fer-edge's JSON, without its newline) from ``path``; the bytes
    removed (0: none). A file that ends otherwise is not fer-edge's output: refused, not cut.
    Only the file's end is read: a service's file grows for months."""
    if not path.is_file() or path.stat().st_size == 0:
        return 0
    size = path.stat().st_size
    with open(path, "rb+") as file:
        file.seek(max(0, size - 65536))
        end = file.read()
        if end.endswith(b"\n"):
            return 0
        cut = end.rfind(b"\n") + 1
        tail, before = end[cut:], end[:cut].splitlines()
        ours = tail.startswith(b'{"frame"') and (cut > 0 or size == len(end)) and (not before or before[-1].startswith(b'{"frame"'))
        if not ours:
            raise OutputError(f"--json {path} --append: it does not end in a whole line of fer-edge's JSON; not changing it (choose another file)")
        file.truncate(size - len(tail))
    return len(tail)


class VideoRecorder:
    """The annotated frames as an MP4; opened on the first frame, whose size every frame is given.

    OpenCV's writer reports no failed write, and an MP4 cut short (a full disk) has no index and
    does not play. So the video is written under a temporary name beside ``path`` and, once
    closed, read back: it replaces ``path`` only when it holds every frame, and otherwise is
    removed with a one-line error. A run that gets no frame leaves ``path`` as it was.
    """

    def __init__(self, path: str | os.PathLike[str], fps: float) -> None:
        self.path = Path(path).resolve() if Path(path).is_symlink() else Path(path)  # a link is recorded through
        self.fps = fps if fps > 0 else 10.0
        self.writer: cv2.VideoWriter | None = None
        self.size: tuple[int, int] | None = None
        self.frames = 0
        if self.path.suffix.lower() != ".mp4":
            raise FerEdgeError(f"--record {self.path}: must end in .mp4")
        check_output_path("--record", self.path)
        prefix, suffix = f".{self.path.stem}.", f".tmp{self.path.suffix}"
        remove_stale_temporaries(self.path.parent, prefix, suffix)  # left by a killed run
        self.partial = self.path.with_name(f"{prefix}{os.getpid()}{suffix}")

    def write(self, image: np.ndarray) -> None:
        if self.writer is None:
            self.size = (image.shape[1], image.shape[0])
            self.writer = cv2.VideoWriter(str(self.partial), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, self.size)
            if not self.writer.isOpened():
                self.partial.unlink(missing_ok=True)
                raise OutputError(f"--record {self.path}: cannot write an MP4 there")
        if (image.shape[1], image.shape[0]) != self.size:
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        self.writer.write(image)
        self.frames += 1

    def close(self) -> None:
        if self.writer is None:
            return
        self.writer.release()
        self.writer = None
        quiet_opencv()  # a cut MP4 makes OpenCV's reader print warnings of its own
        check = cv2.VideoCapture(str(self.partial))
        playable = check.isOpened() and check.read()[0]
        counted = int(check.get(cv2.CAP_PROP_FRAME_COUNT)) if playable else 0  # 0 or less: not in the file
        check.release()
        if not playable or 0 < counted < self.frames:
            self.partial.unlink(missing_ok=True)
            raise OutputError(f"--record {self.path}: the video could not be written whole (is the disk full?); {self.frames} frames lost")
        try:
            os.replace(self.partial, self.path)
        except OSError as exc:
            self.partial.unlink(missing_ok=True)
            raise OutputError(f"--record {self.path}: cannot write ({exc.strerror or exc})") from None


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
