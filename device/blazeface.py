"""Find faces with MediaPipe's BlazeFace short-range model, on the TFLite interpreter the classifier uses.

Why the runtime looks with it first (``--detector auto``, the default, falls back to the Haar
cascade only where it finds no face; ``detector.FallbackDetector`` has the face sizes each finds):
the cascade alone was most of a frame's time (3.7 ms of about 7.6 on the 2-core x86 VM, in the
TF-free venv), and a Pi has to run it on the CPU.
BlazeFace is a small (229 KB, float32) SSD-style CNN made for faces near the camera (selfie
range): at its 128x128 input it finds faces from about 100 px in a 640x480 frame. It runs on the
interpreter the runtime already has (XNNPACK takes float models in
tflite-runtime 2.14), so it adds no dependency. The minimum score was chosen on 300 frames of
120-200 px FER2013 test faces pasted into noisy 640x480 frames, seed 1, not the seed-0 video
``bench_runtime.py`` reports on (``benchmarks/bench_detectors.py``, tflite_runtime, 2-core x86 VM,
2026-11-25), against the cascade's 74.0% found, 0 false faces and 3.2 ms:

  min score 0.5:  70.3% found, 2 false faces, 1.3 ms  (MediaPipe's own default threshold)
  min score 0.4:  76.3% found, 2 false faces, 1.3 ms
  min score 0.35: 80.3% found, 2 false faces, 1.3 ms  (the default here)
  min score 0.3:  82.7% found, 4 false faces, 1.3 ms

The false faces BlazeFace gave on ``bench_runtime.py``'s seed-0 and seed-1 videos were all
misplaced boxes on the pasted face (off-centre, or two to three times its size), none on the
empty background. FER2013's crops are tight (no hair, ears or
chin below the crop), unlike the photos BlazeFace was trained on, so its scores run lower than on
live faces; on a real camera in a cluttered room, raise ``--min-face-score`` if false faces appear.

The model file is MediaPipe's ``face_detection_short_range.tflite`` (Apache License 2.0, see
``models/README.md``), taken unchanged from the ``mediapipe`` 0.10.14 wheel: installing all of
mediapipe on a Pi for one 229 KB file would be heavier than the whole runtime.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from fer_edge.device.interpreter import make_interpreter
from fer_edge.device.smoothing import box_iou
from fer_edge.errors import FerEdgeError

MODEL_FILE = Path(__file__).parent / "models" / "face_detection_short_range.tflite"
INPUT_SIZE = 128
#: Default minimum score: chosen on the seed-1 frames (module docstring).
DEFAULT_MIN_SCORE = 0.35
#: Boxes overlapping more than this are one face (MediaPipe's setting for this model).
NMS_IOU = 0.3
#: BlazeFace's box is tighter than FER2013's crop and sits lower on the face: the crop (what the
#: classifier was trained on) is 1.2x its side, centred 0.08 of its side higher. Medians over the
#: faces it found in the seed-1 frames, in a prototype's run (1.18-1.20 and -0.08 for minimum scores 0.3-0.5).
BOX_SCALE = 1.2
BOX_SHIFT_Y = -0.08
#: The model's anchor grid: 16x16 cells with 2 anchors each (stride 8), then 8x8 cells with 6
#: (stride 16), centred in their cells; box offsets are in input pixels relative to them.
ANCHOR_LAYERS: tuple[tuple[int, int], ...] = ((16, 2), (8, 6))


def anchor_centres() -> np.ndarray:
    """(896, 2) anchor centres ``x, y`` as fractions of the input, in the model's output order."""
    centres = [
        ((x + 0.5) / cells, (y + 0.5) / cells)
        for cells, per_cell in ANCHOR_LAYERS
        for y in range(cells)
        for x in range(cells)
        for _ in range(per_cell)
    ]
    return np.asarray(centres, dtype=np.float32)


def weighted_nms(boxes: np.ndarray, scores: np.ndarray, iou: float = NMS_IOU) -> np.ndarray:
    """One box per face: overlapping detections averaged, weighted by score (as MediaPipe does).

    Averaging steadies the box of a small face, which the model places a little differently from
    one anchor to the next; plain suppression kept fewer faces at IoU 0.5 in a prototype's run on
    the seed-1 frames (77.3% against 78.0% at min score 0.35, 67.3% against 68.0% at 0.5).
    """
    order = np.argsort(-scores)
    boxes, scores = boxes[order], scores[order]
    left = np.ones(len(scores), dtype=bool)
    merged = []
    for i in range(len(scores)):
        if not left[i]:
            continue
        group = left & (box_iou(boxes[i], boxes)[0] >= iou)
        left &= ~group
        weights = scores[group]
        merged.append((boxes[group] * weights[:, None]).sum(axis=0) / weights.sum())
    return np.asarray(merged, dtype=np.float64).reshape(-1, 4)


class BlazeFaceDetector:
    """Face boxes ``(x, y, w, h)`` in frame pixels, FER2013-crop shaped, from a grayscale frame.

    The frame is shrunk to fit 128x128 (its aspect kept, the rest black) and given as three equal
    channels: the runtime works on grayscale (the classifier's input) and the detector shares it.

    One interpreter thread by default: with two, its thread pool and the classifier's took turns
    on the same cores and a frame's detection cost 2.1 ms instead of 1.6 (seed-0 benchmark video,
    tflite_runtime, stages in turn), though alone on a quiet machine two were 1.1 ms against 1.3.
    """

    def __init__(
        self,
        min_score: float = DEFAULT_MIN_SCORE,
        num_threads: int = 1,
        model_path: str | Path = MODEL_FILE,
    ) -> None:
        if not 0.0 < min_score < 1.0:
            raise FerEdgeError(f"--min-face-score {min_score}: must be between 0 and 1")
        self.min_score = min_score
        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise FerEdgeError(f"{self.model_path}: BlazeFace model not found (reinstall fer-edge, or use --detector haar)")
        self.interpreter, self.backend = make_interpreter(self.model_path, num_threads)
        (inp,) = self.interpreter.get_input_details()
        outputs = {tuple(o["shape"][1:]): o["index"] for o in self.interpreter.get_output_details()}
        self.anchors = anchor_centres()
        count = len(self.anchors)
        if tuple(inp["shape"]) != (1, INPUT_SIZE, INPUT_SIZE, 3) or (count, 16) not in outputs or (count, 1) not in outputs:
            raise FerEdgeError(
                f"{self.model_path}: not BlazeFace short-range (input {list(inp['shape'])}, outputs {sorted(outputs)}; "
                f"expected [1, {INPUT_SIZE}, {INPUT_SIZE}, 3] in, ({count}, 16) and ({count}, 1) out)"
            )
        self.input_index = inp["index"]
        self.boxes_index, self.scores_index = outputs[(count, 16)], outputs[(count, 1)]
        self.canvas = np.zeros((1, INPUT_SIZE, INPUT_SIZE, 3), dtype=np.float32)

    def describe(self) -> str:
        return f"BlazeFace short-range on {self.backend}, min score {self.min_score:g}"

    def detect(self, gray: np.ndarray) -> np.ndarray:
        """Boxes (K, 4) int32 as ``x, y, w, h`` in ``gray``'s pixels, largest face first."""
        height, width = gray.shape[:2]
        scale = INPUT_SIZE / max(height, width)
        fit_w, fit_h = max(1, round(width * scale)), max(1, round(height * scale))
        pad_x, pad_y = (INPUT_SIZE - fit_w) // 2, (INPUT_SIZE - fit_h) // 2
        small = cv2.resize(gray, (fit_w, fit_h), interpolation=cv2.INTER_AREA)
        self.canvas.fill(-1.0)  # black, in the model's [-1, 1] range
        self.canvas[0, pad_y : pad_y + fit_h, pad_x : pad_x + fit_w, :] = (small.astype(np.float32) / 127.5 - 1.0)[..., None]
        self.interpreter.set_tensor(self.input_index, self.canvas)
        self.interpreter.invoke()
        raw = self.interpreter.get_tensor(self.boxes_index)[0]
        logits = self.interpreter.get_tensor(self.scores_index)[0, :, 0]
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -80.0, 80.0)))
        keep = scores >= self.min_score
        if not keep.any():
            return np.zeros((0, 4), dtype=np.int32)
        raw, anchors = raw[keep], self.anchors[keep]
        centre = anchors * INPUT_SIZE + raw[:, 0:2]  # input pixels
        size = raw[:, 2:4]
        boxes = np.concatenate([centre - size / 2.0, size], axis=1)
        boxes = weighted_nms(boxes, scores[keep])
        # Back to frame pixels, then to FER2013's crop: square, larger, a little higher.
        boxes[:, 0] -= pad_x
        boxes[:, 1] -= pad_y
        boxes /= scale
        side = np.maximum(boxes[:, 2], boxes[:, 3]) * BOX_SCALE
        cx = boxes[:, 0] + boxes[:, 2] / 2.0
        cy = boxes[:, 1] + boxes[:, 3] / 2.0 + BOX_SHIFT_Y * boxes[:, 2]
        crops = np.stack([cx - side / 2.0, cy - side / 2.0, side, side], axis=1)
        inside = (cx >= 0) & (cx < width) & (cy >= 0) & (cy < height) & (side >= 1)
        crops = np.round(crops[inside]).astype(np.int32)
        return crops[np.argsort(-crops[:, 2] * crops[:, 3], kind="stable")]
