"""Where frames come from: a camera index, the Pi camera (picamera2), a video, a URL, an image or a folder.

Every source gives the same thing, :class:`Frame` objects with a BGR or grayscale image and a time
in seconds, so the runner never asks what it is reading. ``open_source`` turns the user's
``--camera`` text into a source, and every way that can fail into one line saying what to do.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from fer_edge.third_party_logs import verbose

# FFmpeg's own log ("moov atom not found") would bury the one-line error; read when FFmpeg starts.
if not verbose():
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from fer_edge.errors import FerEdgeError, first_line  # noqa: E402
from fer_edge.image_header import header_size  # noqa: E402

#: The largest image --camera reads (a 50 MP camera's photo; 150 MB decoded): a small file can
#: hold a huge image, so the size is read from the header before decoding (fer_edge/image_header.py).
MAX_IMAGE_PIXELS = 50_000_000
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
SOURCE_HELP = "a camera index (0), picam (Pi camera module), auto, a video file, a stream URL, an image or a folder of images"


@dataclass(frozen=True)
class Frame:
    """One image from a source; ``time`` is the video position, or seconds since the source opened.

    ``name`` is the image's file name when the source is images (a video's frames have none).
    """

    image: np.ndarray
    time: float
    name: str | None = None


class FrameSource:
    """Base of all sources. ``live`` sources (cameras, streams) drop frames and are retried."""

    name: str = ""
    live: bool = False
    fps: float = 0.0  # frames per second the source delivers, 0 when unknown

    def read(self) -> Frame | None:
        """The next frame, or ``None`` when there is none (end of file, or a camera hiccup)."""
        raise NotImplementedError

    def reopen(self) -> bool:
        """Try to get a dropped live source back; ``False`` when that is not possible."""
        return False

    def unread_error(self) -> FerEdgeError | None:
        """The one-line error for what was skipped as unreadable (an image folder's bad files), if anything was."""
        return None

    def close(self) -> None:
        pass

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class CaptureSource(FrameSource):
    """A camera index, a video file or a stream URL, read through ``cv2.VideoCapture``."""

    def __init__(self, target: int | str, live: bool) -> None:
        self.target = target
        self.name = f"camera {target}" if isinstance(target, int) else str(target)
        self.live = live
        self._started = time.perf_counter()
        self.capture = self._open()
        if not self.capture.isOpened():
            raise FerEdgeError(self._cannot_open())
        fps = self.capture.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and np.isfinite(fps) and 0 < fps < 1000 else 0.0

    def _open(self) -> cv2.VideoCapture:
        return cv2.VideoCapture(self.target)

    def _cannot_open(self) -> str:
        if isinstance(self.target, int):
            return (
                f"--camera {self.target}: cannot open camera {self.target}; check it is plugged in and not in use "
                "(ls /dev/video*), try another index, or --camera picam for the Pi camera module"
            )
        if self.live and str(self.target).startswith("/dev/"):
            return (
                f"--camera {self.target}: cannot open this camera device; check it exists and is a capture device "
                "(ls /dev/video*; v4l2-ctl --list-devices), that it is not in use, and that you may read it (the video group)"
            )
        if self.live:
            return f"--camera {self.target}: cannot open the stream; check the URL and that it is reachable"
        return f"{self.target}: cannot open as a video (corrupt, or a format this OpenCV build cannot decode)"

    def read(self) -> Frame | None:
        ok, image = self.capture.read()
        if not ok or image is None:
            return None
        if self.live:
            stamp = time.perf_counter() - self._started
        else:
            stamp = self.capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        return Frame(image, float(stamp))

    def reopen(self) -> bool:
        if not self.live:
            return False
        self.capture.release()
        self.capture = self._open()
        return self.capture.isOpened()

    def close(self) -> None:
        self.capture.release()


class ImageSource(FrameSource):
    """One image file, or every image of a folder in name order, as frames 1 second apart.

    An image that cannot be read is skipped and the rest are processed, so one bad file does not
    cost a folder's results; the run then ends in an error naming it (:meth:`unread_error`).
    """

    def __init__(self, files: list[Path], name: str) -> None:
        if not files:
            raise FerEdgeError(f"{name}: no images found (expected {', '.join(IMAGE_SUFFIXES)})")
        self.files = files
        self.name = name
        self._next = 0
        self._unread: list[str] = []

    def read(self) -> Frame | None:
        while self._next < len(self.files):
            path, stamp = self.files[self._next], float(self._next)
            self._next += 1
            image = self.decode(path)
            if image is not None:
                return Frame(image, stamp, path.name)
        return None

    def decode(self, path: Path) -> np.ndarray | None:
        """The image at ``path``, or ``None`` with the reason kept for :meth:`unread_error`."""
        try:
            data = np.fromfile(path, dtype=np.uint8)
        except OSError as exc:  # no permission, or gone since the folder was listed
            self._unread.append(f"{path}: cannot read ({exc.strerror or exc})")
            return None
        size = header_size(data)
        if size is not None and size[0] * size[1] > MAX_IMAGE_PIXELS:  # before it is decoded
            self._unread.append(f"{path}: {size[0]}x{size[1]} is over the {MAX_IMAGE_PIXELS // 10**6} megapixel limit for images; shrink it first")
            return None
        image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
        if image is None:
            self._unread.append(f"{path}: unreadable or corrupt image")
        return image

    def unread_error(self) -> FerEdgeError | None:
        if not self._unread:
            return None
        if len(self.files) == 1:
            return FerEdgeError(self._unread[0])
        read = len(self.files) - len(self._unread)
        if not read:
            return FerEdgeError(f"{self._unread[0]} (none of the {len(self.files)} images could be read)")
        more = f" with {len(self._unread) - 1} more unreadable" if len(self._unread) > 1 else ""
        return FerEdgeError(f"{self._unread[0]} (skipped{more}; the other {read} of {len(self.files)} images were processed)")


class PicameraSource(FrameSource):
    """The Raspberry Pi camera module through picamera2 (libcamera); OpenCV cannot open it on Bookworm."""

    live = True

    def __init__(self, size: tuple[int, int] = (640, 480)) -> None:
        self.name = "picam"
        self.size = size
        try:
            self.camera = self._start()
        except Exception as exc:  # picamera2 raises RuntimeError, IndexError (no camera), OSError
            raise FerEdgeError(
                f"--camera picam: cannot start the Pi camera ({first_line(exc)}); check the ribbon cable "
                "and that no other program uses it (rpicam-hello --list-cameras)"
            ) from None
        self._started = time.perf_counter()

    def _start(self):
        Picamera2 = import_picamera2()
        camera = Picamera2()
        # "RGB888" is laid out B, G, R in memory: the order OpenCV expects.
        camera.configure(camera.create_preview_configuration(main={"size": self.size, "format": "RGB888"}))
        camera.start()
        return camera

    def reopen(self) -> bool:
        """Stop and start the camera afresh, as a USB camera is reopened after dropped frames."""
        self.close()
        try:
            self.camera = self._start()
        except Exception:
            return False
        return True

    def read(self) -> Frame | None:
        try:
            image = self.camera.capture_array("main")
        except Exception:
            return None
        return Frame(np.ascontiguousarray(image[..., :3]), time.perf_counter() - self._started)

    def close(self) -> None:
        try:
            self.camera.stop()
            self.camera.close()
        except Exception:
            pass


def import_picamera2():
    try:
        from picamera2 import Picamera2
    except ImportError:
        raise FerEdgeError(
            "--camera picam: picamera2 is not importable; on Raspberry Pi OS run "
            "sudo apt install -y python3-picamera2 and make the venv with --system-site-packages"
        ) from None
    return Picamera2


def pi_camera_is_only_camera() -> bool:
    """True when picamera2 sees a camera module (CSI) and no USB camera: then ``auto`` means picam."""
    try:
        from picamera2 import Picamera2

        cameras = Picamera2.global_camera_info()
    except Exception:
        return False
    if not cameras:
        return False
    return all("usb" not in str(camera.get("Id", "")).lower() for camera in cameras)


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def quiet_opencv() -> None:
    """Keep OpenCV's own log lines (a camera index that is not there) out of the user's one-line
    errors, unless ``--verbose``: the runtime reports what failed itself."""
    logging = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging is not None and not verbose():
        logging.setLogLevel(logging.LOG_LEVEL_SILENT)


def open_source(spec: str | int) -> FrameSource:
    """The frame source a ``--camera`` value names (see :data:`SOURCE_HELP`)."""
    quiet_opencv()
    text = str(spec).strip()
    if not text:
        raise FerEdgeError(f"--camera '': empty; SOURCE is {SOURCE_HELP}")
    if text == "auto":
        return PicameraSource() if pi_camera_is_only_camera() else CaptureSource(0, live=True)
    if text == "picam":
        return PicameraSource()
    if text.isdigit():
        return CaptureSource(int(text), live=True)
    if "://" in text:
        return CaptureSource(text, live=True)
    path = Path(text)
    if path.is_dir():
        return ImageSource(image_files(path), name=str(path))
    if path.is_file():
        if path.suffix.lower() in IMAGE_SUFFIXES:
            return ImageSource([path], name=str(path))
        if not os.access(path, os.R_OK):
            raise FerEdgeError(f"{path}: not readable (check its permissions)")
        return CaptureSource(str(path), live=False)
    if text.startswith("/dev/video"):
        return CaptureSource(text, live=True)
    raise FerEdgeError(f"--camera {text}: no such file or folder; SOURCE is {SOURCE_HELP}")


def frames(source: FrameSource) -> Iterator[Frame]:
    """Frames until the source runs out (no retries: for files, images and tests)."""
    while (frame := source.read()) is not None:
        yield frame
