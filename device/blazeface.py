"""Find faces with MediaPipe's BlazeFace models, on the TFLite interpreter the classifier uses.

Two models, both MediaPipe's, unchanged from the ``mediapipe`` 0.10.14-0.10.21 wheels (Apache
License 2.0, see ``models/README.md``): installing all of mediapipe on a Pi for two files of
under 1 MB would be heavier than the whole runtime.

- short-range (229 KB): made for selfie range, 128x128 input; in a 640x480 frame it finds faces
  from about 100 px.
- full-range (sparse, 677 KB): made for faces up to about 5 m, 192x192 input on one 48x48 anchor
  grid; it finds real faces from about 64 px in a 640x480 frame, with almost no false boxes on
  photos of no person.

``detector.py`` combines them for the default and says why; ``benchmarks/bench_detectors.py``
measures both at several minimum scores. FER2013's crops are tight (no hair, ears or chin below
the crop), unlike the photos BlazeFace was trained on, so its scores for pasted dataset faces run
lower than for live faces.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from fer_edge.device.faces import largest_first, to_gray
from fer_edge.device.interpreter import make_interpreter
from fer_edge.device.smoothing import box_iou
from fer_edge.errors import FerEdgeError

MODELS_DIR = Path(__file__).parent / "models"
#: Boxes overlapping more than this are one face (MediaPipe's setting for both models).
NMS_IOU = 0.3


@dataclass(frozen=True)
class BlazeFaceModel:
    """One of MediaPipe's BlazeFace models: its file, square input side and anchor grid.

    ``min_score`` is its default minimum score when it runs alone (``--detector full-range`` or
    ``short-range``; ``detector.py`` sets the default detector's own).
    ``anchor_layers`` lists (cells per side, anchors per cell), in the model's output order; the
    anchors sit at their cells' centres and the box offsets are in input pixels relative to them.
    BlazeFace's box is tighter than FER2013's crop and sits lower on the face: the crop the
    classifier was trained on is ``crop_scale`` times its side, its centre moved down by
    ``crop_shift_y`` of the side (negative: up): medians measured by ``benchmarks/bench_crops.py``
    (figures in benchmarks/README.md).
    """

    name: str
    file: str
    input_size: int
    anchor_layers: tuple[tuple[int, int], ...]
    crop_scale: float
    crop_shift_y: float
    min_score: float

    @property
    def path(self) -> Path:
        return MODELS_DIR / self.file

    @property
    def anchor_count(self) -> int:
        return sum(cells * cells * per_cell for cells, per_cell in self.anchor_layers)


#: Selfie range: 128x128 input, 16x16 cells of 2 anchors (stride 8), then 8x8 cells of 6 (stride 16).
SHORT_RANGE = BlazeFaceModel("short-range", "face_detection_short_range.tflite", 128, ((16, 2), (8, 6)), 1.2, -0.08, 0.6)
#: Faces up to about 5 m: 192x192 input, one 48x48 grid of single anchors (stride 4).
FULL_RANGE = BlazeFaceModel("full-range", "face_detection_full_range_sparse.tflite", 192, ((48, 1),), 1.24, -0.05, 0.5)


def anchor_centres(model: BlazeFaceModel = SHORT_RANGE) -> np.ndarray:
    """(N, 2) anchor centres ``x, y`` as fractions of the input, in the model's output order."""
    centres = [
        ((x + 0.5) / cells, (y + 0.5) / cells)
        for cells, per_cell in model.anchor_layers
        for y in range(cells)
        for x in range(cells)
        for _ in range(per_cell)
    ]
    return np.asarray(centres, dtype=np.float32)


def shrink(gray: np.ndarray, width: int, height: int) -> np.ndarray:
    """``gray`` resized to ``width`` x ``height`` by pixel area, halved first while it is twice as large.

    OpenCV's area resize is fast at whole ratios and several times slower at others, so halving
    first and resizing the rest is quicker than one resize (benchmarks/README.md).
    """
    while gray.shape[1] >= 2 * width and gray.shape[0] >= 2 * height:
        gray = cv2.resize(gray, (gray.shape[1] // 2, gray.shape[0] // 2), interpolation=cv2.INTER_AREA)
    return cv2.resize(gray, (width, height), interpolation=cv2.INTER_AREA)


def weighted_nms(boxes: np.ndarray, scores: np.ndarray, iou: float = NMS_IOU) -> tuple[np.ndarray, np.ndarray]:
    """One box per face: overlapping detections averaged, weighted by score (as MediaPipe does),
    with each face's highest score; highest score first.

    Averaging steadies the box of a small face, which the model places a little differently from
    one anchor to the next; plain suppression kept fewer pasted test faces (benchmarks/README.md).
    """
    order = np.argsort(-scores)
    boxes, scores = boxes[order], scores[order]
    overlapping = box_iou(boxes, boxes) >= iou  # once for all pairs: a frame has few candidates
    left = np.ones(len(scores), dtype=bool)
    merged, best = [], []
    for i in range(len(scores)):
        if not left[i]:
            continue
        group = left & overlapping[i]
        left &= ~group
        weights = scores[group]
        merged.append((boxes[group] * weights[:, None]).sum(axis=0) / weights.sum())
        best.append(scores[i])
    return np.asarray(merged, dtype=np.float64).reshape(-1, 4), np.asarray(best, dtype=np.float64)


class BlazeFaceDetector:
    """Face boxes ``(x, y, w, h)`` in frame pixels, FER2013-crop shaped, from a grayscale frame.

    The frame is shrunk to fit the model's square input (its aspect kept, the rest black) and given
    as three equal channels: the runtime works on grayscale (the classifier's input) and the
    detector shares it.

    ``fer-edge run`` gives it the classifier's interpreter threads (two by default, one each when
    the stages overlap): with ai_edge_litert, detection is faster on two threads and classifying
    does not slow (benchmarks/README.md, "Detector details").
    """

    def __init__(
        self,
        min_score: float | None = None,
        num_threads: int = 1,
        model: BlazeFaceModel = SHORT_RANGE,
        model_path: str | Path | None = None,
    ) -> None:
        min_score = model.min_score if min_score is None else min_score
        if not 0.0 < min_score < 1.0:
            raise FerEdgeError(f"--min-face-score {min_score}: must be between 0 and 1")
        self.min_score = min_score
        self.model = model
        self.model_path = model.path if model_path is None else Path(model_path)
        if not self.model_path.is_file():
            raise FerEdgeError(f"{self.model_path}: BlazeFace model not found (reinstall fer-edge, or use --detector haar)")
        self.interpreter, self.backend = make_interpreter(self.model_path, num_threads)
        (inp,) = self.interpreter.get_input_details()
        outputs = {tuple(o["shape"][1:]): o["index"] for o in self.interpreter.get_output_details()}
        self.anchors = anchor_centres(model)
        count, size = len(self.anchors), model.input_size
        if tuple(inp["shape"]) != (1, size, size, 3) or (count, 16) not in outputs or (count, 1) not in outputs:
            raise FerEdgeError(
                f"{self.model_path}: not BlazeFace {model.name} (input {list(inp['shape'])}, outputs {sorted(outputs)}; "
                f"expected [1, {size}, {size}, 3] in, ({count}, 16) and ({count}, 1) out)"
            )
        self.input_index = inp["index"]
        self.boxes_index, self.scores_index = outputs[(count, 16)], outputs[(count, 1)]
        self.canvas = np.zeros((1, size, size, 3), dtype=np.float32)
        #: Passes of the model so far: ``benchmarks/bench_detectors.py`` reports them per frame as
        #: a detector's cost, which unlike its time does not move with a shared machine's load.
        self.passes = 0

    def describe(self) -> str:
        return f"BlazeFace {self.model.name} on {self.backend}, min score {self.min_score:g}"

    def detect(self, gray: np.ndarray) -> np.ndarray:
        """Boxes (K, 4) int32 as ``x, y, w, h`` in ``gray``'s pixels, largest face first (BGR is made grey)."""
        gray = to_gray(gray)
        boxes, _ = self.scored_faces(gray, self.min_score)
        return self.crops(boxes, gray.shape)

    def scored_faces(self, gray: np.ndarray, min_score: float) -> tuple[np.ndarray, np.ndarray]:
        """The model's own boxes (K, 4) float ``x, y, w, h`` in ``gray``'s pixels, and their scores,
        for every face scoring ``min_score`` or more, highest score first."""
        height, width = gray.shape[:2]
        input_size = self.model.input_size
        scale = input_size / max(height, width)
        fit_w, fit_h = max(1, round(width * scale)), max(1, round(height * scale))
        pad_x, pad_y = (input_size - fit_w) // 2, (input_size - fit_h) // 2
        small = gray if (fit_w, fit_h) == (width, height) else shrink(gray, fit_w, fit_h)
        # Three channels first, then scaled in place: over twice as fast as writing one grey
        # channel into the canvas through broadcasting, which matters at several passes a frame.
        pixels = cv2.cvtColor(small, cv2.COLOR_GRAY2RGB).astype(np.float32)
        pixels /= 127.5  # the model's [-1, 1] range
        pixels -= 1.0
        self.canvas.fill(-1.0)  # black
        self.canvas[0, pad_y : pad_y + fit_h, pad_x : pad_x + fit_w] = pixels
        self.interpreter.set_tensor(self.input_index, self.canvas)
        self.interpreter.invoke()
        self.passes += 1
        raw = self.interpreter.get_tensor(self.boxes_index)[0]
        logits = self.interpreter.get_tensor(self.scores_index)[0, :, 0]
        keep = logits >= np.log(min_score / (1.0 - min_score))  # the sigmoid only where it is needed
        if not keep.any():
            return np.zeros((0, 4), dtype=np.float64), np.zeros(0, dtype=np.float64)
        scores = 1.0 / (1.0 + np.exp(-logits[keep]))
        raw, anchors = raw[keep], self.anchors[keep]
        centre = anchors * input_size + raw[:, 0:2]  # input pixels
        extent = raw[:, 2:4]
        boxes, scores = weighted_nms(np.concatenate([centre - extent / 2.0, extent], axis=1), scores)
        boxes[:, 0] -= pad_x
        boxes[:, 1] -= pad_y
        return boxes / scale, scores

    def crops(self, boxes: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """The model's boxes as FER2013 crops (square, larger, a little higher; see
        :class:`BlazeFaceModel`) in int32 ``x, y, w, h``, those centred in a frame of ``shape``,
        largest first."""
        height, width = shape[:2]
        box_side = np.maximum(boxes[:, 2], boxes[:, 3])
        side = box_side * self.model.crop_scale
        cx = boxes[:, 0] + boxes[:, 2] / 2.0
        cy = boxes[:, 1] + boxes[:, 3] / 2.0 + self.model.crop_shift_y * box_side
        crops = np.stack([cx - side / 2.0, cy - side / 2.0, side, side], axis=1)
        inside = (cx >= 0) & (cx < width) & (cy >= 0) & (cy < height) & (side >= 1)
        crops = np.round(crops[inside]).astype(np.int32).reshape(-1, 4)
        return largest_first(crops)
