"""The runtime never needs TensorFlow: checked here, and in a TF-free venv built as the Pi README says.

``test_device_venv`` (slow) makes a second virtual environment exactly as the README's Raspberry Pi
section tells Pi users (``python3 -m venv --system-site-packages``, then the package's ``device`` extra: NumPy < 2,
opencv-python-headless < 5, tflite-runtime 2.14) plus pytest, in a cache folder outside the
repository (reused while the install inputs are unchanged), and runs every ``device`` test inside it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from clitools import REPO_ROOT
from venvs import build_venv, venv_dir

#: Set inside the TF-free venv, where the checks below become strict.
IN_DEVICE_VENV = os.environ.get("FER_EDGE_DEVICE_VENV") == "1"
RUNTIME_MODULES = (
    "fer_edge",
    "fer_edge.cli",
    "fer_edge.device.classifier",
    "fer_edge.device.detector",
    "fer_edge.device.faces",
    "fer_edge.device.interpreter",
    "fer_edge.device.outputs",
    "fer_edge.device.pipeline",
    "fer_edge.device.results",
    "fer_edge.device.runner",
    "fer_edge.device.smoothing",
    "fer_edge.device.sources",
    "fer_edge.evaluate",
    "fer_edge.sidecar",
)


def python(code: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT)


@pytest.mark.device
def test_importing_the_runtime_does_not_import_tensorflow():
    done = python(
        f"""
        import importlib, sys
        for name in {RUNTIME_MODULES!r}:
            importlib.import_module(name)
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "torch"))
        assert not heavy, heavy
        """
    )
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.device
def test_running_the_pipeline_imports_no_tensorflow_where_a_light_interpreter_exists(edge_int8_model, test_split):
    """Runs the whole runtime on a few real faces; TensorFlow may load only as the last-resort interpreter."""
    done = python(
        f"""
        import importlib.util, json, sys
        import numpy as np
        from fer_edge.dataset import load_split
        from fer_edge.device.runner import run
        data = load_split({str(test_split.source)!r}, "test")
        import cv2, tempfile, pathlib
        folder = pathlib.Path(tempfile.mkdtemp())
        for i in range(3):
            frame = np.full((480, 640, 3), 110, np.uint8)
            frame[100:292, 200:392] = cv2.resize(data.images[i], (192, 192))[..., None]
            cv2.imwrite(str(folder / f"{{i}}.png"), frame)
        summary = run(camera=str(folder), model={str(edge_int8_model)!r}, display=False, log=lambda text: None)
        print(json.dumps({{"backend": summary.backend, "frames": summary.frames,
                           "tensorflow_imported": "tensorflow" in sys.modules,
                           "tensorflow_installed": importlib.util.find_spec("tensorflow") is not None}}))
        """
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["frames"] == 3
    if report["backend"] != "tensorflow":
        assert not report["tensorflow_imported"], report
    if IN_DEVICE_VENV:
        assert report["backend"] == "tflite_runtime" and not report["tensorflow_installed"], report


# --- the TensorFlow-free environment, built as the README's Raspberry Pi section says ------------------------

#: What the README tells Pi users to install, after `python3 -m venv --system-site-packages`.
PIP_INSTALL = ["-e", f"{REPO_ROOT}[device]", "pytest>=8"]


@pytest.mark.slow
def test_device_venv(fer2013_dir, edge_int8_model):
    venv_python = build_venv(venv_dir("device", PIP_INSTALL), PIP_INSTALL, system_site_packages=True)
    probe = subprocess.run(
        [str(venv_python), "-c", "import importlib.util as u, numpy, cv2, tflite_runtime; "
         "print(u.find_spec('tensorflow') is None, numpy.__version__, cv2.__version__, tflite_runtime.__version__)"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr[-2000:]
    no_tf, numpy_version, cv2_version, tflite_version = probe.stdout.split()
    assert no_tf == "True", "tensorflow is importable in the device venv"
    assert numpy_version.startswith("1.") and cv2_version.startswith("4.") and tflite_version.startswith("2.14")

    env = {**os.environ, "FER_EDGE_DEVICE_VENV": "1", "FER2013_DIR": str(fer2013_dir.resolve())}
    env["FER_EDGE_TEST_MODEL"] = str(edge_int8_model.resolve())
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [str(venv_python), "-m", "pytest", "-m", "device", "-q", "-p", "no:cacheprovider", "tests"],
        capture_output=True, text=True, timeout=1200, cwd=REPO_ROOT, env=env,
    )  # fmt: skip
    tail = done.stdout[-4000:] + done.stderr[-2000:]
    assert done.returncode == 0, f"device tests failed in the TF-free venv:\n{tail}"
    assert " passed" in done.stdout and " skipped" not in done.stdout, tail
