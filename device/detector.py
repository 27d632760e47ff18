"""Find faces in a frame: :func:`make_detector` picks BlazeFace (``blazeface.py``), the Haar cascade
that OpenCV 4.x ships, run on a downscaled copy (this module), or by default both, the cascade
only where BlazeFace finds no face (:class:`FallbackDetector` says why).

The cascade works out of the box with the declared dependencies (opencv-python-headless<5 ships
``cv2.data.haarcascades``; 5.x dropped it), needs no download and runs at camera rate on a Pi when
the frame is shrunk first: detection cost grows with pixels, and faces at webcam distance stay
above the cascade's 24x24 window at 240 px wide.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from fer_edge.device.blazeface import DEFAULT_MIN_SCORE, BlazeFaceDetector
from fer_edge.errors import FerEdgeError

CASCADE_FILE = "haarcascade_frontalface_default.xml"
#: Width frames are shrunk to before detection (see HaarFaceDetector for the measurements).
DEFAULT_DETECT_WIDTH = 240

#: ``--detector`` choices, the default first: ``auto`` is BlazeFace, then the cascade where it finds none.
DETECTORS: tuple[str, ...] = ("auto", "blazeface", "haar")


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
) -> FaceDetector:
    """The ``--detector`` by name (``None``: the default); ``detect_width`` is Haar's, ``min_score`` BlazeFace's."""
    name = DETECTORS[0] if name is None else name
    if name not in DETECTORS:
        raise FerEdgeError(f"--detector {name}: must be one of {', '.join(DETECTORS)}")
    if name == "haar" and min_score is not None:
        raise FerEdgeError("--min-face-score is BlazeFace's; --detector haar has --detect-width")
    if name == "blazeface" and detect_width is not None:
        raise FerEdgeError("--detect-width is the Haar cascade's (BlazeFace always sees 128x128); use --detector auto or haar")
    width = DEFAULT_DETECT_WIDTH if detect_width is None else detect_width
    score = DEFAULT_MIN_SCORE if min_score is None else min_score
    if name == "haar":
        return HaarFaceDetector(detect_width=width)
    if name == "blazeface":
        return BlazeFaceDetector(min_score=score)
    return FallbackDetector(BlazeFaceDetector(min_score=score), HaarFaceDetector(detect_width=width))


class FallbackDetector:
    """``first``'s faces, or ``second``'s on frames where ``first`` finds none.

    BlazeFace sees the frame at 128x128, so a face below about 100 px in a 640x480 frame is below
    its smallest anchor; the cascade at 240 px finds faces from about 64 px but misses more of the
    larger ones and costs more. Found (IoU >= 0.5) of 200 FER2013 test faces per size, pasted into
    640x480 frames (``benchmarks/bench_detectors.py``, seed 1, tflite_runtime, 2-core x86 VM,
    2026-11-25):

      face size    BlazeFace       Haar (240 px)   BlazeFace, else Haar
      50-80 px      0.0%, 1.3 ms   30.0%, 1.5 ms   29.5%, 2.9 ms
      80-120 px    30.0%, 1.2 ms   52.0%, 2.1 ms   59.0%, 2.7 ms
      120-200 px   80.5%, 1.3 ms   70.5%, 3.2 ms   88.0%, 1.8 ms
      200-320 px   88.0%, 1.3 ms   70.5%, 5.1 ms   90.0%, 1.6 ms

    (At 50-80 px one BlazeFace box that missed the face kept the cascade from looking.)
    Where ``first`` finds a large face, ``second`` does not look for small ones in that frame.
    """

    def __init__(self, first: FaceDetector, second: FaceDetector) -> None:
        self.first, self.second = first, second

    def describe(self) -> str:
        return f"{self.first.describe()}, then {self.second.describe()} where it finds none"

    def detect(self, gray: np.ndarray) -> np.ndarray:
        boxes = self.first.detect(gray)
        return boxes if len(boxes) else self.second.detect(gray)


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

    Defaults from a sweep on 300 real FER2013 test faces (120-200 px) in 640x480 frames
    (benchmarks/bench_runtime.py's video, seed 1, not the seed-0 video it reports on; tflite
    device venv on the 2-core x86 VM with nothing else running; 81 settings of cascade default /
    alt / alt2, 200-280 px, scale 1.1-1.2, 3-5 neighbours). Detection is most of a frame's time,
    so the default trades a few faces for speed:
      240 px, scale 1.2,  3 neighbours: 76.0% found, 3.2 ms, 0 false faces (default)
      240 px, scale 1.2,  4 neighbours: 73.7% found, 3.2 ms, 0 false faces (the default until 2026-11-25)
      240 px, scale 1.15, 3 neighbours: 76.7% found, 4.0 ms, 0 false faces
      240 px, scale 1.1,  3 neighbours: 79.0% found, 5.2 ms, 0 false faces
      280 px, scale 1.1,  3 neighbours: 79.3% found, 6.7 ms, 1 false face
      alt2, 200 px, scale 1.1, 3 neighbours: 75.7% found, 3.2 ms, 0 false faces
      640 px (the whole frame) with ``fer``'s settings (1.1, 5 neighbours, 50 px): 77.3% found,
        13.9 ms, 7 false faces (an earlier sweep)
    Three neighbours at 240 px reported fewer false faces here than ``fer``'s five on the whole
    frame (0 against 7): a face shrunk to a third meets fewer overlapping windows. The frames'
    background is sensor-like noise, so false faces in cluttered rooms are not measured; raise
    ``min_neighbors`` if they appear.
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
        # No histogram equalisation: measured on FER2013 faces in noisy frames it found fewer faces
        # (61% vs 70%) and was 3x slower, because it turns flat sensor noise into texture.
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
