"""What a converted model really is: its input/output tensors and whether it is integer-only.

Read from the flatbuffer through a TFLite interpreter (no TensorFlow needed), so the converter,
the sidecar and the regression tests all describe a model by what it contains, not by what the
conversion asked for.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_edge.device.interpreter import make_interpreter
from fer_edge.errors import FerEdgeError

FLOAT_DTYPES = (np.float16, np.float32, np.float64)


@dataclass(frozen=True)
class TensorSpec:
    """Shape (``None`` for the resizable batch axis), dtype and quantization of one tensor."""

    shape: tuple[int | None, ...]
    dtype: str
    scale: float | None = None
    zero_point: int | None = None

    def to_dict(self) -> dict:
        return {"shape": list(self.shape), "dtype": self.dtype, "scale": self.scale, "zero_point": self.zero_point}

    @classmethod
    def from_details(cls, details: dict) -> "TensorSpec":
        """From an interpreter's tensor details; scale and zero point only for quantized tensors."""
        signature = details.get("shape_signature")
        dims = signature if signature is not None and len(signature) else details["shape"]
        shape = tuple(None if int(d) < 0 else int(d) for d in dims)
        dtype = np.dtype(details["dtype"])
        scale, zero_point = details["quantization"]
        if np.issubdtype(dtype, np.integer) and scale:
            return cls(shape, dtype.name, float(scale), int(zero_point))
        return cls(shape, dtype.name)


@dataclass(frozen=True)
class TFLiteTensors:
    """The model's input and output tensors, and the names of any float tensors inside it."""

    input: TensorSpec
    output: TensorSpec
    float_tensors: tuple[str, ...]
    ops: tuple[str, ...]

    @property
    def integer_only(self) -> bool:
        """int8 in, int8 out and no float tensor (hence no float op) anywhere in between."""
        return self.input.dtype == "int8" and self.output.dtype == "int8" and not self.float_tensors


def read_tensors(path: str | os.PathLike[str]) -> TFLiteTensors:
    """Describe a ``.tflite`` file's tensors."""
    path = Path(path)
    if not path.is_file():
        raise FerEdgeError(f"{path}: model file not found")
    interpreter, _ = make_interpreter(path, num_threads=1)
    inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
    if len(inputs) != 1 or len(outputs) != 1:
        raise FerEdgeError(f"{path}: {len(inputs)} inputs and {len(outputs)} outputs; a fer-edge model has one of each")
    float_tensors = tuple(
        d["name"] for d in interpreter.get_tensor_details() if np.dtype(d["dtype"]) in FLOAT_DTYPES
    )
    try:  # op names are a debugging aid, read through a private method not every runtime has
        ops = tuple(op["op_name"] for op in interpreter._get_ops_details())
    except Exception:
        ops = ()
    return TFLiteTensors(TensorSpec.from_details(inputs[0]), TensorSpec.from_details(outputs[0]), float_tensors, ops)


def keras_tensors(model) -> tuple[TensorSpec, TensorSpec]:
    """Input and output of a loaded Keras model, described like a TFLite model's (no quantization)."""
    return (
        TensorSpec(tuple(model.input_shape), str(model.inputs[0].dtype)),
        TensorSpec(tuple(model.output_shape), str(model.outputs[0].dtype)),
    )
