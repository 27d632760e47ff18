"""Pick a TFLite interpreter without pulling in TensorFlow unless nothing else is there.

Order: ``ai_edge_litert`` (what the ``device`` extra installs: maintained, NumPy 1 or 2, fast
int8 kernels), ``tflite_runtime`` (its predecessor, for a setup that has only that), and only then
TensorFlow's own ``tf.lite.Interpreter`` (deprecated, and heavy) as a last resort.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from fer_edge.errors import FerEdgeError, first_line
from fer_edge.third_party_logs import TFLITE_INFO_LINES, filtered_stderr

#: Modules tried in order, with the attribute path of their Interpreter class.
BACKENDS: tuple[tuple[str, str], ...] = (
    ("ai_edge_litert.interpreter", "Interpreter"),
    ("tflite_runtime.interpreter", "Interpreter"),
    ("tensorflow", "lite.Interpreter"),
)


def interpreter_class() -> tuple[type, str]:
    """The first importable Interpreter class and the name of the package it came from."""
    failures = []
    for module_name, attr_path in BACKENDS:
        try:
            module: Any = importlib.import_module(module_name)
        except Exception as exc:  # ImportError, or a wheel built for the wrong NumPy
            failures.append(f"{module_name.split('.')[0]} ({type(exc).__name__})")
            continue
        target = module
        for attr in attr_path.split("."):
            target = getattr(target, attr)
        return target, module_name.split(".")[0]
    raise FerEdgeError(
        "no TFLite interpreter found (tried " + ", ".join(failures) + "); "
        "install one: pip install 'fer-edge[device]'"
    )


def backend_version(backend: str) -> str:
    """The installed version of an interpreter package (``ai_edge_litert`` -> its wheel's version)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(backend.replace("_", "-"))
    except PackageNotFoundError:
        return "unknown version"


def make_interpreter(model_path: str | os.PathLike[str], num_threads: int | None = None):
    """An allocated interpreter for ``model_path`` and the backend name that runs it.

    The interpreter's INFO lines (its XNNPACK delegate) are dropped unless ``--verbose``.
    """
    cls, backend = interpreter_class()
    try:
        with filtered_stderr(TFLITE_INFO_LINES):
            interpreter = cls(model_path=str(model_path), num_threads=num_threads)
            interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        hint = "; convert it first: fer-edge convert MODEL.keras --int8" if str(model_path).lower().endswith((".keras", ".h5")) else ""
        raise FerEdgeError(f"{model_path}: not a valid TFLite model ({first_line(exc)}){hint}") from None
    return interpreter, backend
