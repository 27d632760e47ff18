"""What the Keras backend training runs on can do: accelerators, precision, distribution, versions.

Keras 3 trains the same model on TensorFlow, JAX or PyTorch, picked by ``KERAS_BACKEND`` before
Keras is imported. TensorFlow is what the converter needs, but a GPU machine often has PyTorch
or JAX and no TensorFlow (TensorFlow's GPU wheels are Linux-only and pinned to CUDA versions),
so ``fer-edge train`` runs on any of them, and its ``.keras`` files load on all of them. The few
places where training touches the backend itself are here: the rest of the trainer is
backend-neutral Keras.
"""

from __future__ import annotations

import contextlib
import platform
from pathlib import Path

import numpy as np

from fer_edge import __version__
from fer_edge.errors import FerEdgeError

PRECISIONS = ("auto", "float32", "mixed_bfloat16")
STRATEGIES = ("auto", "default", "mirrored", "one-device")


#: Backends fer-edge trains on, in the order it picks them where nothing says which.
BACKEND_MODULES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


def choose_backend_if_unset() -> str | None:
    """Point Keras at an installed backend where the one it would take is missing; call before importing Keras.

    Keras takes ``$KERAS_BACKEND``, else the backend in its config file (which it writes on first
    import, naming TensorFlow), else TensorFlow. In a venv with only the ``train-jax`` extra that
    import fails on the missing TensorFlow. So where ``$KERAS_BACKEND`` is unset and the backend
    Keras would take is not installed, this sets the first installed of TensorFlow, JAX and
    PyTorch, and returns it (``None``: the choice is left to Keras).
    """
    import importlib.util
    import json
    import os

    if os.environ.get("KERAS_BACKEND"):
        return None
    config = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "keras.json"
    try:
        configured = json.loads(config.read_text()).get("backend", "tensorflow")
    except (OSError, ValueError, AttributeError):
        configured = "tensorflow"
    installed = [name for name, module in BACKEND_MODULES.items() if importlib.util.find_spec(module) is not None]
    if configured in installed or not installed:
        return None
    os.environ["KERAS_BACKEND"] = installed[0]
    return installed[0]


def backend_name() -> str:
    import keras

    return keras.backend.backend()


def gpu_count() -> int:
    """GPUs the current backend can train on."""
    name = backend_name()
    if name == "tensorflow":
        import tensorflow as tf

        return len(tf.config.list_physical_devices("GPU"))
    if name == "jax":
        import jax

        return sum(1 for device in jax.devices() if device.platform == "gpu")
    if name == "torch":
        import torch

        return torch.cuda.device_count()
    return 0


def cpu_has_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def check_option(option: str, value: str, allowed: tuple[str, ...]) -> str:
    """``value``, or a one-line error naming ``option`` and the values it takes."""
    if value not in allowed:
        raise FerEdgeError(f"{option} {value!r} is not one of {', '.join(allowed)}")
    return value


def resolve_precision(precision: str) -> str:
    """``auto`` picks bfloat16 mixed precision where the hardware runs it natively.

    On a GPU with any backend; on the CPU only with TensorFlow, whose oneDNN kernels run bfloat16
    about 2x faster where the CPU has AVX512-BF16 or AMX (the JAX and PyTorch CPU paths do not
    gain from it).
    """
    if check_option("--precision", precision, PRECISIONS) != "auto":
        return precision
    if gpu_count():
        return "mixed_bfloat16"
    return "mixed_bfloat16" if backend_name() == "tensorflow" and cpu_has_bf16() else "float32"


def check_strategy(name: str) -> str:
    """The strategy name, or a one-line error where the backend has no such strategy."""
    check_option("--strategy", name, STRATEGIES)
    if name in ("mirrored", "one-device") and backend_name() != "tensorflow":
        raise FerEdgeError(f"--strategy {name} is a tf.distribute strategy: it needs KERAS_BACKEND=tensorflow, not {backend_name()}")
    return name


def strategy_scope(name: str):
    """The scope models are built in: tf.distribute's MirroredStrategy over several GPUs with
    TensorFlow; with JAX or PyTorch, one device (the first GPU, where there is one)."""
    check_strategy(name)
    if backend_name() != "tensorflow":
        return contextlib.nullcontext()
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if name == "mirrored" or (name == "auto" and len(gpus) > 1):
        return tf.distribute.MirroredStrategy().scope()
    if name == "one-device":
        return tf.distribute.OneDeviceStrategy("/gpu:0" if gpus else "/cpu:0").scope()
    return tf.distribute.get_strategy().scope()


def versions() -> dict[str, str]:
    """The software a run was trained with, for run.json."""
    import keras

    name = backend_name()
    backend_module = BACKEND_MODULES.get(name)
    found = {"fer_edge": __version__, "python": platform.python_version(), "keras": keras.__version__, "keras_backend": name}
    if backend_module:
        found[backend_module] = __import__(backend_module).__version__
    found["numpy"] = np.__version__
    found["machine"] = f"{platform.machine()} {platform.processor() or ''}".strip()
    gpus = gpu_count()
    if gpus:
        found["gpus"] = str(gpus)
    return found
