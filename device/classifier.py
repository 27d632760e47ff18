"""Run a FER TFLite model on 48x48 uint8 faces: set the input, invoke, read the output.

The only place that quantizes faces into a model's input and dequantizes its output, using the
tensor's own quantization parameters, so float, float16 and int8 models all take the same faces.
``fer-edge eval`` and ``fer-edge run`` both classify through this class.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from fer_edge.contract import INPUT_SHAPE, NUM_CLASSES, to_model_input
from fer_edge.errors import FerEdgeError
from fer_edge.flip import mirror_averaged
from fer_edge.sidecar import flips_faces, read_sidecar
from fer_edge.device.interpreter import make_interpreter


class TFLiteClassifier:
    """A loaded ``.tflite`` emotion model; ``predict`` maps faces (N, 48, 48) uint8 to probabilities."""

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        num_threads: int | None = None,
        test_time_flip: bool | None = None,
        require_sidecar: bool = False,
    ) -> None:
        """``test_time_flip=None`` follows the model's sidecar (off when there is none).

        ``require_sidecar`` refuses a model without one: the live runtime takes its crop margin,
        test-time flip and labels' check from it rather than guessing. Conversion checks a model
        before its sidecar exists, so it is optional by default.
        """
        self.path = Path(model_path)
        if self.path.is_dir():
            raise FerEdgeError(f"{self.path}: is a folder, not a model file")
        if not self.path.is_file():
            raise FerEdgeError(f"{self.path}: model file not found")
        self.interpreter, self.backend = make_interpreter(self.path, num_threads=num_threads)
        self._input = self.interpreter.get_input_details()[0]
        self._output = self.interpreter.get_output_details()[0]
        shape = tuple(int(d) for d in self._input["shape"][1:])
        if shape != INPUT_SHAPE:
            raise FerEdgeError(f"{self.path}: model input is {shape}; fer-edge needs {INPUT_SHAPE} (48x48 grayscale)")
        if int(self._output["shape"][-1]) != NUM_CLASSES:
            raise FerEdgeError(f"{self.path}: model outputs {int(self._output['shape'][-1])} classes; expected {NUM_CLASSES}")
        self.input_dtype = np.dtype(self._input["dtype"])
        self.input_scale, self.input_zero_point = (float(v) for v in self._input["quantization"])
        self.output_scale, self.output_zero_point = (float(v) for v in self._output["quantization"])
        self._batch = int(self._input["shape"][0])
        self.sidecar = read_sidecar(self.path, required=require_sidecar)
        if self.sidecar is not None:
            self.check_sidecar_tensors()
        self.test_time_flip = flips_faces(self.sidecar, test_time_flip)

    def check_sidecar_tensors(self) -> None:
        """Refuse a sidecar whose input tensor (dtype, scale, zero point) is not this model's: it
        describes another model, and its preprocessing and flip may not fit this one."""
        described = self.sidecar.get("input") if self.sidecar else None
        if not isinstance(described, dict):
            return  # older sidecars without tensor records: the size check in read_sidecar still holds
        actual = {"dtype": self.input_dtype.name, "scale": self.input_scale or None, "zero_point": self.input_zero_point if self.input_scale else None}
        shapes = {"input": list(self._input["shape"][1:]), "output": list(self._output["shape"][1:])}
        for tensor, shape in shapes.items():
            recorded = (self.sidecar.get(tensor) or {}).get("shape")
            if isinstance(recorded, list) and [int(d) for d in recorded[1:] if d is not None] != [int(d) for d in shape]:
                raise FerEdgeError(
                    f"{self.path.with_suffix('.json')}: describes an {tensor} of shape {recorded}; {self.path.name} has "
                    f"{[None, *map(int, shape)]}: a sidecar from another model?"
                )
        same_dtype = described.get("dtype") == actual["dtype"]
        same_scale = described.get("scale") is None if actual["scale"] is None else np.isclose(described.get("scale") or 0.0, actual["scale"])
        same_zero = described.get("zero_point") is None if actual["zero_point"] is None else described.get("zero_point") == actual["zero_point"]
        if not (same_dtype and same_scale and same_zero):
            raise FerEdgeError(
                f"{self.path.with_suffix('.json')}: describes an input of {described.get('dtype')}, scale {described.get('scale')}, "
                f"zero point {described.get('zero_point')}; {self.path.name} has {actual['dtype']}, scale {actual['scale']}, "
                f"zero point {actual['zero_point']}: a sidecar from another model?"
            )

    def quantize(self, faces: np.ndarray) -> np.ndarray:
        """Faces as the model's input tensor: float pixels, or integers per the input's scale and zero point."""
        x = to_model_input(faces)
        if self.input_dtype == np.float32:
            return x
        info = np.iinfo(self.input_dtype)
        q = np.round(x / self.input_scale + self.input_zero_point)
        return np.clip(q, info.min, info.max).astype(self.input_dtype)

    def dequantize(self, output: np.ndarray) -> np.ndarray:
        if np.issubdtype(output.dtype, np.integer):
            return (output.astype(np.float32) - self.output_zero_point) * self.output_scale
        return output.astype(np.float32)

    def _resize(self, batch: int) -> None:
        if batch != self._batch:
            self.interpreter.resize_tensor_input(self._input["index"], [batch, *INPUT_SHAPE])
            self.interpreter.allocate_tensors()
            self._batch = batch

    def predict(self, faces: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Class probabilities (N, 7) for uint8 faces (N, 48, 48), in batches of ``batch_size``.

        With test-time flip the face and its mirror image go through the model in one batch and
        their probabilities are averaged (faces are left-right symmetric; their errors are not).
        """
        faces = np.asarray(faces)
        if self.test_time_flip:
            return mirror_averaged(lambda batch: self._predict(batch, batch_size), faces)
        return self._predict(faces, batch_size)

    def _predict(self, faces: np.ndarray, batch_size: int) -> np.ndarray:
        if len(faces) == 0:
            return np.zeros((0, NUM_CLASSES), dtype=np.float32)
        probs = np.empty((len(faces), NUM_CLASSES), dtype=np.float32)
        for start in range(0, len(faces), batch_size):
            chunk = self.quantize(faces[start : start + batch_size])
            self._resize(len(chunk))
            self.interpreter.set_tensor(self._input["index"], chunk)
            self.interpreter.invoke()
            probs[start : start + len(chunk)] = self.dequantize(self.interpreter.get_tensor(self._output["index"]))
        return probs
