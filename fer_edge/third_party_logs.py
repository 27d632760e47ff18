"""Third-party log lines (TensorFlow, absl, TFLite, OpenCV) kept off the terminal unless ``--verbose``.

TensorFlow's C++ start-up lines, the TFLite interpreter's "Created TensorFlow Lite XNNPACK
delegate" and OpenCV's camera warnings bury the lines fer-edge prints, and can turn a one-line
error into four. The CLI calls :func:`quiet_by_default` before anything heavy is imported;
``--verbose`` calls :func:`show_everything`. Most libraries obey an environment variable or a
logger level; the few lines written straight to file descriptor 2 by C++ code before any setting
applies (absl's pre-initialisation lines while TensorFlow loads, TFLite's INFO lines) are caught
by :func:`filtered_stderr` around just those calls, and every other line is passed on.

No TensorFlow import here: the device stage uses this module too.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import logging
import os
import re
import sys
import tempfile
from contextlib import contextmanager
from typing import Iterator, Sequence

#: Environment settings read by the libraries when they load; each is set only if the user has not.
QUIET_ENVIRONMENT: dict[str, str] = {
    "TF_CPP_MIN_LOG_LEVEL": "3",  # TensorFlow's C++ INFO, WARNING and ERROR lines (the cuInit "CUDA error")
    "GLOG_minloglevel": "2",  # glog users among TensorFlow's libraries
    # OpenCV's V4L2 warnings for a camera that is not there, and the ERROR line of its obsensor
    # backend ("Camera index out of range", OpenCV 4.11): fer-edge says what failed in its own line.
    "OPENCV_LOG_LEVEL": "SILENT",
    "OPENCV_FFMPEG_LOGLEVEL": "-8",  # FFmpeg's own lines ("moov atom not found") for a damaged video
}
#: Python loggers of third-party packages, raised to ERROR.
QUIET_LOGGERS: tuple[str, ...] = ("absl", "tensorflow", "h5py")

#: absl's lines before its logging is initialised (``I0000 00:00:...  port.cc:153] oneDNN ...``)
#: and the warning that announces them; ``E`` and ``F`` (error, fatal) lines are kept.
ABSL_EARLY_LINES = re.compile(r"^(WARNING: All log messages before absl::InitializeLog\(\)|[IW]\d{4} \d\d:\d\d:\d+\.\d+ )")
#: The TFLite interpreter's INFO lines ("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.").
TFLITE_INFO_LINES = re.compile(r"^INFO: ")

_verbose = False
_set_by_us: list[str] = []


def verbose() -> bool:
    """Whether third-party lines are shown (``--verbose``)."""
    return _verbose


def quiet_by_default() -> None:
    """Silence third-party logs for this process (before TensorFlow, absl or OpenCV is imported)."""
    for name, value in QUIET_ENVIRONMENT.items():
        if name not in os.environ:
            os.environ[name] = value
            _set_by_us.append(name)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    if not any(isinstance(finder, QuietImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, QuietImport(("tensorflow",), ABSL_EARLY_LINES))


def show_everything() -> None:
    """Undo :func:`quiet_by_default` (``--verbose``): every library logs as it would unasked."""
    global _verbose
    _verbose = True
    while _set_by_us:
        os.environ.pop(_set_by_us.pop(), None)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, QuietImport)]


@contextmanager
def filtered_stderr(noise: re.Pattern[str]) -> Iterator[None]:
    """Drop lines matching ``noise`` that C/C++ code writes to file descriptor 2 inside the block.

    Everything written to descriptor 2 meanwhile is held in a temporary file and passed on when
    the block ends, less the noise. Keep the block short: a line another thread writes then is
    delayed until its end. With ``--verbose``, or without a descriptor 2, nothing is caught.
    """
    if _verbose:
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            kept = [line for line in held.read().decode("utf-8", "replace").splitlines(keepends=True) if not noise.match(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


class QuietImport(importlib.abc.MetaPathFinder):
    """Imports the named top-level packages inside :func:`filtered_stderr`.

    TensorFlow writes absl's early lines while its libraries load, whoever imports it (Keras,
    the trainer, the converter), and before ``TF_CPP_MIN_LOG_LEVEL`` can apply to them.
    """

    def __init__(self, packages: Sequence[str], noise: re.Pattern[str]) -> None:
        self.packages = set(packages)
        self.noise = noise

    def find_spec(self, name: str, path: object = None, target: object = None) -> importlib.machinery.ModuleSpec | None:
        if name not in self.packages or name in sys.modules:
            return None
        spec = next(
            (found for finder in sys.meta_path if finder is not self and (found := finder.find_spec(name, path, target)) is not None),
            None,
        )
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = QuietLoader(spec.loader, self.noise)
        return spec


class QuietLoader(importlib.abc.Loader):
    """A package's own loader, run inside :func:`filtered_stderr`; the module keeps its real loader."""

    def __init__(self, loader: importlib.abc.Loader, noise: re.Pattern[str]) -> None:
        self.loader = loader
        self.noise = noise

    def create_module(self, spec: importlib.machinery.ModuleSpec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        with filtered_stderr(self.noise):
            self.loader.exec_module(module)
