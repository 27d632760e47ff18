"""One frame in, one :class:`FrameResult` out: detect, crop like FER2013, classify, smooth.

No I/O here (sources, windows and files belong to the runner), so the same path is what the
parity test drives with known boxes and what ``fer-edge run`` drives with camera frames.
"""

from __future__ import annotations

import time

import numpy as np

from fer_edge.contract import NUM_CLASSES, PREPROCESSING
from fer_edge.device.classifier import TFLiteClassifier
from fer_edge.device.detector import HaarFaceDetector
from fer_edge.device.faces import crop_faces, to_gray
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
        detector: HaarFaceDetector | None = None,
        smoother: FaceSmoother | None = None,
        margin: float | None = None,
    ) -> None:
        self.classifier = classifier
        self.detector = detector or HaarFaceDetector()
        self.smoother = smoother
        self.margin = face_margin(classifier) if margin is None else margin

    def classify_faces(self, gray: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """Probabilities (K, 7) of the faces at ``boxes`` in a grayscale frame, in one batch."""
        if len(boxes) == 0:
            return np.zeros((0, NUM_CLASSES), dtype=np.float32)
        return self.classifier.predict(crop_faces(gray, boxes, self.margin))

    def process(
        self,
        image: np.ndarray,
        index: int = 0,
        stamp: float = 0.0,
        boxes: np.ndarray | None = None,
        read_s: float = 0.0,
    ) -> FrameResult:
        """The result for one frame; ``boxes`` skips detection (known faces, tests)."""
        start = time.perf_counter()
        gray = to_gray(image)
        if boxes is None:
            boxes = self.detector.detect(gray)
        boxes = np.asarray(boxes).reshape(-1, 4)
        detected = time.perf_counter()
        probs = self.classify_faces(gray, boxes)
        if self.smoother is not None:
            probs = self.smoother.update(index, boxes, probs)
        done = time.perf_counter()
        faces = tuple(Face(tuple(int(round(v)) for v in box), p) for box, p in zip(boxes, probs))
        return FrameResult(index, stamp, faces, StageTimes(read_s, detected - start, done - detected))
