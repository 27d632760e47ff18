"""One frame in, one :class:`FrameResult` out: detect, crop like FER2013, classify, smooth.

No I/O here (sources, windows and files belong to the runner), so the same path is what the
parity test drives with known boxes and what ``fer-edge run`` drives with camera frames.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from fer_edge.contract import NUM_CLASSES, PREPROCESSING
from fer_edge.device.classifier import TFLiteClassifier
from fer_edge.device.detector import FaceDetector, make_detector
from fer_edge.device.faces import clip_box, crop_faces, to_gray
from fer_edge.device.results import Face, FrameResult, StageTimes
from fer_edge.device.smoothing import FaceSmoother


def face_margin(classifier: TFLiteClassifier) -> float:
    """The crop margin the model was made for: its sidecar's, else the contract's."""
    sidecar = classifier.sidecar or {}
    return float(sidecar.get("preprocessing", {}).get("face_margin", PREPROCESSING["face_margin"]))


class FacePipeline:
    """Faces and their emotions in a BGR or grayscale frame."""

    def __init__(
        self,
        classifier: TFLiteClassifier,
        detector: FaceDetector | None = None,
        smoother: FaceSmoother | None = None,
        margin: float | None = None,
    ) -> None:
        self.classifier = classifier
        self.detector = detector or make_detector()
        self.smoother = smoother
        self.margin = face_margin(classifier) if margin is None else margin

    def classify_faces(self, gray: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """Probabilities (K, 7) of the faces at ``boxes`` in a grayscale frame, in one batch."""
        if len(boxes) == 0:
            return np.zeros((0, NUM_CLASSES), dtype=np.float32)
        return self.classifier.predict(crop_faces(gray, boxes, self.margin))

    def detect(self, image: np.ndarray, boxes: np.ndarray | None = None) -> "Detected":
        """A frame's grayscale copy and face boxes; ``boxes`` skips detection (known faces, tests).

        Separate from :meth:`classify` so the runner can detect the next frame on one core while
        this one is classified on another.
        """
        start = time.perf_counter()
        gray = to_gray(image)
        found = self.detector.detect(gray) if boxes is None else boxes
        return Detected(image, gray, np.asarray(found).reshape(-1, 4), time.perf_counter() - start)

    def classify(
        self, detected: "Detected", index: int = 0, stamp: float = 0.0, read_s: float = 0.0, source: str | None = None
    ) -> FrameResult:
        """The result for a detected frame: its faces classified (and smoothed, when on).

        Faces are cropped (and tracked) with the detector's boxes; the result reports each box
        clipped to the frame. ``source`` names the image the frame came from, if any.
        """
        start = time.perf_counter()
        probs = self.classify_faces(detected.gray, detected.boxes)
        if self.smoother is not None:
            probs = self.smoother.update(index, detected.boxes, probs)
        height, width = detected.gray.shape[:2]
        faces = tuple(Face(clip_box(tuple(int(round(v)) for v in box), width, height), p) for box, p in zip(detected.boxes, probs))
        return FrameResult(index, stamp, faces, StageTimes(read_s, detected.seconds, time.perf_counter() - start), source)

    def process(
        self,
        image: np.ndarray,
        index: int = 0,
        stamp: float = 0.0,
        boxes: np.ndarray | None = None,
        read_s: float = 0.0,
    ) -> FrameResult:
        """The result for one frame; ``boxes`` skips detection (known faces, tests)."""
        return self.classify(self.detect(image, boxes), index, stamp, read_s)


@dataclass(frozen=True)
class Detected:
    """A frame after detection: the frame, its grayscale copy, face boxes (K, 4) and the seconds it took."""

    image: np.ndarray
    gray: np.ndarray
    boxes: np.ndarray
    seconds: float
