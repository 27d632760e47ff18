"""Find faces in a frame: :func:`make_detector` builds the ``--detector`` by name.

- ``auto`` (the default): BlazeFace full-range on the whole frame; where it is unsure, short-range
  looks again at a closer crop (:class:`LookCloser`).
- ``full-range`` or ``short-range``: one of MediaPipe's BlazeFace models (``blazeface.py``).
- ``haar``: the Haar cascade that OpenCV 4.x ships, on a downscaled copy of the frame.

Why this default (``benchmarks/bench_detectors.py``; its table is in ``benchmarks/README.md``):
full-range sees the frame at 192x192 on a fine anchor grid and, in the real portraits measured,
finds every face from 96 px in a 640x480 frame with almost no false boxes, but scores small and
tightly cropped faces low. Short-range, given a square three times such a candidate's side,
sees the face at the scale it was trained for and confirms most of them: real 48-64 px faces are
found 1.5-2 times as often as before, pasted FER2013 faces several times as often, with fewer
false boxes, at a bounded cost (at most three looks a frame, and a whole-frame pass where nothing
is found). The cascade finds fewer small real faces, is
slower and gives more false boxes in a room, so it is not part of the default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from fer_edge.device.blazeface import FULL_RANGE, SHORT_RANGE, BlazeFaceDetector
from fer_edge.device.faces import largest_first, to_gray
from fer_edge.device.smoothing import box_iou
from fer_edge.errors import FerEdgeError

CASCADE_FILE = "haarcascade_frontalface_default.xml"
#: Width frames are shrunk to before detection (see HaarFaceDetector for the measurements).
DEFAULT_DETECT_WIDTH = 240
#: In ``auto``: full-range's faces scoring this much or more are taken as they are
#: (``--min-face-score``). At 0.5 (the whole-frame pass then from 0.55), 5 boxes per 100 frames of
#: photos of no person.
AUTO_MIN_SCORE = 0.6
#: In ``auto``, where nothing else is found, a face short-range finds on the whole frame must score
#: this much above ``--min-face-score`` (0.65 by default). That pass runs on every frame of an
#: empty room, where at 0.6 it boxed a close-up cat's face, the moon or a cup: a third as many
#: false boxes at 0.65, for a few pasted test faces and bare dataset images fewer and no real
#: faces fewer (``benchmarks/bench_detectors.py``; figures in benchmarks/README.md).
WHOLE_FRAME_MARGIN = 0.05
#: In ``auto``, a face short-range finds on a closer look must score this much above
#: ``--min-face-score`` (0.7 by default): at 0.6 it found a few faces on the cat and the cups.
CLOSER_MARGIN = 0.1
#: Full-range faces scoring this much or more, up to ``--min-face-score``, are looked at closer.
CANDIDATE_SCORE = 0.1
#: At most this many closer looks per frame, strongest candidates first (each costs about one
#: short-range pass, 0.7 ms on a 2-vCPU x86_64 VM; a frame where nothing is found costs one more,
#: on the whole frame).
CLOSER_LOOKS = 3
#: The closer look's square is this many times the candidate's side: short-range then sees the
#: face at about a third of its input, as in the selfies it was trained on.
CLOSER_ZOOM = 3.0
#: A box overlapping a face already found by this IoU or more is that face.
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
    accept = AUTO_MIN_SCORE if min_score is None else min_score
    return LookCloser(
        BlazeFaceDetector(accept, threads, model=FULL_RANGE), BlazeFaceDetector(min(0.99, accept + CLOSER_MARGIN), threads, model=SHORT_RANGE)
    )


def centred_in(points: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(len(points), len(boxes)) whether each point ``x, y`` lies inside each box ``x, y, w, h``."""
    x, y = points[:, None, 0], points[:, None, 1]
    left, top, width, height = (boxes[None, :, k] for k in range(4))
    return (x >= left) & (x < left + width) & (y >= top) & (y < top + height)


def away_from(second: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Which of ``second``'s boxes are other faces than ``first``'s: those overlapping none of
    them by :data:`SAME_FACE_IOU` or more and centred inside none of them."""
    if not len(first) or not len(second):
        return np.ones(len(second), dtype=bool)
    inside = centred_in(second[:, :2] + second[:, 2:] / 2.0, first).any(axis=1)
    return (box_iou(second, first).max(axis=1) < SAME_FACE_IOU) & ~inside


def square_around(gray: np.ndarray, cx: float, cy: float, side: float) -> tuple[np.ndarray, int, int]:
    """The ``side`` px square of ``gray`` centred at (``cx``, ``cy``), black beyond the frame, and
    its top-left corner in ``gray``'s pixels."""
    height, width = gray.shape[:2]
    size = max(1, int(round(side)))
    x0, y0 = int(round(cx - size / 2.0)), int(round(cy - size / 2.0))
    square = np.zeros((size, size), dtype=gray.dtype)
    left, top, right, bottom = max(0, x0), max(0, y0), min(width, x0 + size), min(height, y0 + size)
    if right > left and bottom > top:
        square[top - y0 : bottom - y0, left - x0 : right - x0] = gray[top:bottom, left:right]
    return square, x0, y0


class ScoringModel(Protocol):
    """What :class:`LookCloser` needs of a model (``blazeface.BlazeFaceDetector`` is one)."""

    min_score: float

    def scored_faces(self, gray: np.ndarray, min_score: float) -> tuple[np.ndarray, np.ndarray]: ...

    def crops(self, boxes: np.ndarray, shape: tuple[int, ...]) -> np.ndarray: ...

    def describe(self) -> str: ...


class LookCloser:
    """Full-range on the whole frame; where it is unsure, short-range looks again, closer.

    Full-range sees a 640x480 frame at 192x192, where a 48-64 px face is 15-20 px: it still
    ranks the face among its candidates, but often under its minimum score. Its candidates from
    :data:`CANDIDATE_SCORE` up (at most :data:`CLOSER_LOOKS` a frame, strongest first, none on a
    face already found) are cut out at :data:`CLOSER_ZOOM` times their side and given to
    short-range, which then sees the face at the scale it was trained for; the faces it scores
    its own minimum in the square are kept. So the second model looks, in every frame, where
    the first saw something, not only in frames where the first found nothing. Where neither
    finds a face, short-range looks at the whole frame and keeps the faces scoring ``frame_score``
    (by default :data:`WHOLE_FRAME_MARGIN` above full-range's minimum): a face that fills the
    frame is one full-range scores low.
    (``benchmarks/bench_detectors.py``: found rates, false boxes and time in benchmarks/README.md.)
    """

    def __init__(
        self,
        full: ScoringModel,
        closer: ScoringModel,
        looks: int = CLOSER_LOOKS,
        zoom: float = CLOSER_ZOOM,
        candidate_score: float = CANDIDATE_SCORE,
        frame_score: float | None = None,
    ) -> None:
        self.full = full
        self.closer = closer
        self.looks = looks
        self.zoom = zoom
        self.candidate_score = min(candidate_score, full.min_score)
        self.frame_score = min(0.99, full.min_score + WHOLE_FRAME_MARGIN) if frame_score is None else frame_score

    def describe(self) -> str:
        return (
            f"{self.full.describe()}; its weaker candidates looked at closer by {self.closer.describe()}; "
            f"where neither finds a face, short-range on the whole frame from {self.frame_score:g}"
        )

    def detect(self, gray: np.ndarray) -> np.ndarray:
        gray = to_gray(gray)
        height, width = gray.shape[:2]
        boxes, scores = self.full.scored_faces(gray, self.candidate_score)
        sure = scores >= self.full.min_score
        faces = self.full.crops(boxes[sure], gray.shape)
        centres = boxes[~sure, :2] + boxes[~sure, 2:] / 2.0
        sides = boxes[~sure, 2:].max(axis=1)
        looks = 0
        for (cx, cy), side in zip(centres, sides):  # strongest first
            if looks >= self.looks:
                break
            if not (0 <= cx < width and 0 <= cy < height):
                continue  # in the model's padding, beyond the frame
            if len(faces) and centred_in(np.array([[cx, cy]]), faces).any():
                continue  # already found, by full-range or by an earlier look
            looks += 1
            closer = self.closer.crops(self.look_closer(gray, cx, cy, side), gray.shape)
            closer = closer[away_from(closer, faces)]
            faces = np.concatenate([faces, closer]) if len(faces) else closer
        if not len(faces):
            faces = self.closer.crops(self.closer.scored_faces(gray, self.frame_score)[0], gray.shape)
        return largest_first(faces)

    def look_closer(self, gray: np.ndarray, cx: float, cy: float, side: float) -> np.ndarray:
        """Short-range's boxes, in ``gray``'s pixels, of the faces wholly inside the square of
        :data:`CLOSER_ZOOM` times ``side`` centred at (``cx``, ``cy``): the candidate's face,
        and in a group the faces beside it, which a look then finds at no extra cost. A face
        that reaches the square's edge may be cut by it, and is left to a look of its own."""
        square, x0, y0 = square_around(gray, cx, cy, self.zoom * side)
        closer, _ = self.closer.scored_faces(square, self.closer.min_score)
        size = square.shape[0]
        corners = np.concatenate([closer[:, :2], closer[:, :2] + closer[:, 2:]], axis=1)
        closer = closer[((corners > 0) & (corners < size)).all(axis=1)]
        closer[:, :2] += (x0, y0)
        return closer


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
        return largest_first(boxes)
