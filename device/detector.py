"""Find faces in a frame: :func:`make_detector` builds the ``--detector`` by name.

- ``auto`` (the default): BlazeFace full-range and short-range on the whole frame, short-range's
  faces kept away from full-range's (:class:`UnionDetector`).
- ``full-range`` or ``short-range``: one of MediaPipe's BlazeFace models (``blazeface.py``).
- ``haar``: the Haar cascade that OpenCV 4.x ships, on a downscaled copy of the frame.

Why this default (``benchmarks/bench_detectors.py``; its table is in ``benchmarks/README.md``):
full-range sees the frame at 192x192 on a finer anchor grid and, in the real portraits measured,
found every face from 96 px and most from 64 px in a 640x480 frame, with almost no false boxes;
short-range, trained on selfies, finds more of the tightly cropped FER2013 faces from 128 px up,
and adds them. The cascade finds more of the 64-128 px pasted faces, but few real faces under
96 px, is slower (more on a cluttered frame, more at a larger width) and gives more false boxes
in a room, so it is not part of the default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from fer_edge.device.blazeface import FULL_RANGE, SHORT_RANGE, BlazeFaceDetector
from fer_edge.device.smoothing import box_iou
from fer_edge.errors import FerEdgeError

CASCADE_FILE = "haarcascade_frontalface_default.xml"
#: Width frames are shrunk to before detection (see HaarFaceDetector for the measurements).
DEFAULT_DETECT_WIDTH = 240
#: In ``auto``, ``--min-face-score`` sets full-range's minimum score and short-range's follows this
#: much above it (0.5 and 0.6 by default, each model's own): on photos of no person short-range
#: reports cat faces and coffee cups at 0.5 that it does not at 0.6.
SHORT_RANGE_MARGIN = SHORT_RANGE.min_score - FULL_RANGE.min_score
#: A second detector's box overlapping one of the first's by this IoU or more is the same face.
SAME_FACE_IOU = 0.3

#: ``--detector`` choices, the default first.
DETECTORS: tuple[str, ...] = ("auto", "full-range", "short-range", "haar")


class FaceDetector(Protocol):
    def detect(self, gray: np.ndarray) -> np.ndarray:
        """Boxes (K, 4) int32 as ``x, y, w, h`` in ``gray``'s pixels, largest face first."""
        ...

    def describe(self) -> str:
        """What ``fer-edge run --verbose`` says about it."""
        ...


def make_detector(
    name: str | None = None,
    *,
    detect_width: int | None = None,
    min_score: float | None = None,
    every: int = 1,
    threads: int = 1,
) -> FaceDetector:
    """The ``--detector`` by name (``None``: the default); ``detect_width`` is Haar's, ``min_score``
    BlazeFace's; ``every`` > 1 detects on every ``every``-th frame only (:class:`EveryNthFrame`);
    ``threads`` are BlazeFace's interpreter threads."""
    if every < 1:
        raise FerEdgeError(f"--detect-every {every}: must be at least 1 (1: every frame)")
    detector = named_detector(name, detect_width, min_score, threads)
    return detector if every == 1 else EveryNthFrame(detector, every)


def named_detector(name: str | None, detect_width: int | None, min_score: float | None, threads: int = 1) -> FaceDetector:
    """The detector ``make_detector`` names, checked against the options given with it."""
    name = DETECTORS[0] if name is None else name
    if name not in DETECTORS:
        renamed = " (blazeface is now short-range)" if name == "blazeface" else ""
        raise FerEdgeError(f"--detector {name}: must be one of {', '.join(DETECTORS)}{renamed}")
    if name == "haar" and min_score is not None:
        raise FerEdgeError("--min-face-score is BlazeFace's; --detector haar has --detect-width")
    if name != "haar" and detect_width is not None:
        raise FerEdgeError(f"--detect-width is the Haar cascade's (BlazeFace sees the whole frame); use --detector haar, not {name}")
    if name == "haar":
        return HaarFaceDetector(detect_width=DEFAULT_DETECT_WIDTH if detect_width is None else detect_width)
    if name in (FULL_RANGE.name, SHORT_RANGE.name):
        return BlazeFaceDetector(min_score, threads, model=FULL_RANGE if name == FULL_RANGE.name else SHORT_RANGE)
    full = FULL_RANGE.min_score if min_score is None else min_score
    short = min(0.99, full + SHORT_RANGE_MARGIN)
    return UnionDetector(BlazeFaceDetector(full, threads, model=FULL_RANGE), BlazeFaceDetector(short, threads, model=SHORT_RANGE))


class UnionDetector:
    """``first``'s faces, and ``second``'s away from them.

    Both look at every frame, so in a group the faces one misses the other can add, wherever they
    are: a second detector run only on frames where the first finds nothing never looks for the
    rest of a group once one face is found. A ``second`` box that overlaps a ``first`` one
    (IoU >= :data:`SAME_FACE_IOU`) or is centred inside one is the same face and is dropped.
    """

    def __init__(self, first: FaceDetector, second: FaceDetector) -> None:
        self.first, self.second = first, second

    def describe(self) -> str:
        return f"{self.first.describe()}, plus {self.second.describe()} for the faces it misses"

    def detect(self, gray: np.ndarray) -> np.ndarray:
        first = self.first.detect(gray)
        second = self.second.detect(gray)
        if len(first) and len(second):
            centres = second[:, :2] + second[:, 2:] / 2.0
            inside = (
                (centres[:, None, 0] >= first[None, :, 0])
                & (centres[:, None, 0] < first[None, :, 0] + first[None, :, 2])
                & (centres[:, None, 1] >= first[None, :, 1])
                & (centres[:, None, 1] < first[None, :, 1] + first[None, :, 3])
            ).any(axis=1)
            second = second[(box_iou(second, first).max(axis=1) < SAME_FACE_IOU) & ~inside]
        if not len(second):
            return first
        boxes = np.concatenate([first, second])
        return boxes[np.argsort(-boxes[:, 2] * boxes[:, 3], kind="stable")]


class EveryNthFrame:
    """``detector`` on every ``n``-th frame of a stream; the frames between get its last boxes.

    A face moves little between frames at camera rate, so skipping detection buys speed where it
    costs most (a Pi 4), for a few faces missed (``benchmarks/bench_detectors.py``; figures in
    benchmarks/README.md). A face that appears is found up to ``n`` - 1 frames late. A frame of
    another size (the next image of a folder, a camera reopened at another resolution) is always
    detected afresh.
    """

    def __init__(self, detector: FaceDetector, n: int) -> None:
        self.detector, self.n, self.count = detector, n, 0
        self.boxes = np.zeros((0, 4), dtype=np.int32)
        self.shape: tuple[int, ...] = ()

    def describe(self) -> str:
        return f"{self.detector.describe()}, every {self.n} frames (boxes kept between)"

    def detect(self, gray: np.ndarray) -> np.ndarray:
        if gray.shape != self.shape:
            self.shape, self.count = gray.shape, 0
        if self.count % self.n == 0:
            self.boxes = self.detector.detect(gray)
        self.count += 1
        return self.boxes


#: Where the cascade is looked for after ``cv2.data``: beside this module, then Debian's opencv-data.
CASCADE_DIRS: tuple[Path, ...] = (
    Path(__file__).parent,
    Path("/usr/share/opencv4/haarcascades"),
    Path("/usr/share/opencv/haarcascades"),
)


def find_cascade(name: str = CASCADE_FILE) -> Path:
    """Path of an OpenCV Haar cascade file, or a one-line error that says how to get one."""
    dirs = list(CASCADE_DIRS)
    data = getattr(cv2, "data", None)
    if data is not None and getattr(data, "haarcascades", None):
        dirs.insert(0, Path(data.haarcascades))
    for folder in dirs:
        if (folder / name).is_file():
            return folder / name
    raise FerEdgeError(
        f"Haar cascade {name} not found (OpenCV {cv2.__version__}); "
        "install opencv-python-headless<5, which ships it, or: sudo apt install opencv-data"
    )


class HaarFaceDetector:
    """Face boxes ``(x, y, w, h)`` in full-frame pixels from a grayscale frame.

    ``detect_width`` is the width the frame is shrunk to before the cascade runs (never enlarged);
    ``min_face`` is the smallest face searched for, in pixels of that shrunken frame (24, the
    cascade's own window, at 240 px is 64 px in a 640x480 frame: a face about 1.5 m from a webcam;
    raise ``detect_width`` for farther faces, at a cost in time).

    The defaults come from a sweep of cascade files, widths, scale factors and neighbour counts
    on placed FER2013 test faces (the table is in benchmarks/README.md, "Detector details"):
    detection is most of a frame's time, so they trade a few faces for speed. A face shrunk to
    240 px meets fewer overlapping windows, so three neighbours give few false faces; the sweep's
    frames have no cluttered room in them, so raise ``min_neighbors`` if false faces appear.
    """

    def __init__(
        self,
        detect_width: int = DEFAULT_DETECT_WIDTH,
        scale_factor: float = 1.2,
        min_neighbors: int = 3,
        min_face: int = 24,
        cascade_path: str | Path | None = None,
    ) -> None:
        if detect_width < 2 * min_face:
            raise FerEdgeError(f"--detect-width {detect_width}: must be at least {2 * min_face} px")
        self.detect_width = detect_width
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.min_face = min_face
        self.cascade_path = Path(cascade_path) if cascade_path else find_cascade()
        self.cascade = cv2.CascadeClassifier(str(self.cascade_path))
        if self.cascade.empty():
            raise FerEdgeError(f"{self.cascade_path}: not a readable OpenCV cascade file")

    def describe(self) -> str:
        return f"Haar {self.cascade_path.name} at {self.detect_width} px wide"

    def detect(self, gray: np.ndarray) -> np.ndarray:
        """Boxes (K, 4) int32 as ``x, y, w, h`` in ``gray``'s pixels, largest face first."""
        height, width = gray.shape[:2]
        scale = min(1.0, self.detect_width / width)
        small = gray if scale == 1.0 else cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        # No histogram equalisation: it turns flat sensor noise into texture, so on faces in noisy
        # frames it found fewer faces and was slower (benchmarks/README.md).
        boxes = self.cascade.detectMultiScale(
            small,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(self.min_face, self.min_face),
        )
        if len(boxes) == 0:
            return np.zeros((0, 4), dtype=np.int32)
        boxes = np.round(np.asarray(boxes, dtype=np.float64) / scale).astype(np.int32)
        return boxes[np.argsort(-boxes[:, 2] * boxes[:, 3], kind="stable")]
