"""The runtime never needs TensorFlow: checked here, and in TF-free venvs built as docs/running.md says.

``test_device_venv`` (slow) makes one virtual environment per Raspberry Pi OS release docs/running.md
covers, with that release's Python and its pip line, from wheels only: Trixie (Python 3.13, NumPy
2) and Bookworm (Python 3.11, NumPy 1). Each is kept in a cache folder outside the repository
while its install inputs are unchanged; fer-edge itself is reinstalled from a freshly built wheel
every time. Every ``device`` test then runs inside it, and the installed ``fer-edge run`` is tried
from an empty folder with no ``--model``, as a user without a clone runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest

from clitools import REPO_ROOT, require
from venvs import build_venv, find_python, venv_dir

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
    """Run ``code`` outside the clone, so that an installed fer-edge is the one imported."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=timeout, cwd=tempfile.gettempdir())


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
        import fer_edge
        print(json.dumps({{"backend": summary.backend, "frames": summary.frames, "package": fer_edge.__file__,
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
        assert report["backend"] == "ai_edge_litert" and not report["tensorflow_installed"], report
        assert "site-packages" in report["package"], report  # the installed wheel, not the clone


# --- the TensorFlow-free environments, built as docs/running.md says -------------------

#: Per Raspberry Pi OS release: its Python, and what docs/running.md's pip line adds to the ``device``
#: extra there (Bookworm's apt picamera2 is built against apt's NumPy 1.24, so NumPy stays 1.x).
PI_RELEASES = {
    "trixie": ("3.13", []),
    "bookworm": ("3.11", ["numpy<2"]),
}


@pytest.fixture(scope="session")
def fer_edge_wheel(tmp_path_factory) -> Path:
    """fer-edge's wheel, built from this clone as ``pip`` builds it for a plain install."""
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(REPO_ROOT)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    (wheel,) = out.glob("fer_edge-*.whl")
    return wheel


@pytest.mark.slow
def test_the_wheel_holds_the_default_model_and_no_other(fer_edge_wheel):
    import zipfile

    names = zipfile.ZipFile(fer_edge_wheel).namelist()
    shipped = sorted(n for n in names if n.startswith("fer_edge/models/"))
    assert shipped == ["fer_edge/models/edge/edge-int8.json", "fer_edge/models/edge/edge-int8.tflite"]
    assert "fer_edge/device/models/face_detection_short_range.tflite" in names
    assert "fer_edge/device/models/face_detection_full_range_sparse.tflite" in names
    assert not [n for n in names if n.endswith((".keras", ".png", ".csv", ".jpg"))]


def pi_venv(release: str, wheel: Path) -> Path:
    """The release's venv (cached), with fer-edge replaced by ``wheel``; returns its python."""
    version, extra = PI_RELEASES[release]
    python_exe = find_python(version)
    require(python_exe is not None, f"Python {version} not found (on PATH or in pyenv): the {release} device venv needs it")
    pip_install = ["--only-binary=:all:", f"{REPO_ROOT}[device]", *extra, "pytest>=8"]
    venv_python = build_venv(venv_dir(f"device-{release}", pip_install, python_exe), pip_install, system_site_packages=True, python=python_exe)
    done = subprocess.run(
        [str(venv_python), "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall", str(wheel)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return venv_python


@pytest.mark.slow
@pytest.mark.parametrize("release", PI_RELEASES)
def test_device_venv(release, fer_edge_wheel, fer2013_dir, edge_int8_model, test_split, tmp_path):
    venv_python = pi_venv(release, fer_edge_wheel)
    probe = subprocess.run(
        [str(venv_python), "-c", "import importlib.util as u, sys, numpy, cv2, ai_edge_litert; "
         "print(u.find_spec('tensorflow') is None, u.find_spec('tflite_runtime') is None, "
         "'%d.%d' % sys.version_info[:2], numpy.__version__, cv2.__version__)"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr[-2000:]
    no_tf, no_tflite_runtime, python_version, numpy_version, cv2_version = probe.stdout.split()
    assert no_tf == "True", "tensorflow is importable in the device venv"
    assert no_tflite_runtime == "True", "the device extra still installs tflite-runtime"
    assert python_version == PI_RELEASES[release][0]
    assert numpy_version.startswith("1." if release == "bookworm" else "2.") and cv2_version.startswith("4.")

    # A plain install runs anywhere: an empty folder, no clone, no --model.
    from fer_edge.placed_faces import paste_face

    frame = np.full((480, 640, 3), 110, np.uint8)
    paste_face(frame, test_split.images[0], 200, 120, 180)
    cv2.imwrite(str(tmp_path / "face.png"), frame)
    fer_edge_script = venv_python.with_name("fer-edge")
    done = subprocess.run([str(fer_edge_script), "run", "--camera", "face.png", "--no-display", "--json", "-", "--verbose"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(json.loads(done.stdout)["faces"]) == 1
    assert "interpreter: ai_edge_litert" in done.stderr and "site-packages/fer_edge/models/edge/edge-int8.tflite" in done.stderr

    env = {**os.environ, "FER_EDGE_DEVICE_VENV": "1", "FER2013_DIR": str(fer2013_dir.resolve())}
    env["FER_EDGE_TEST_MODEL"] = str(edge_int8_model.resolve())
    env.pop("PYTHONPATH", None)
    # From tests/, not the repository root: `python -m` puts the current folder first on sys.path,
    # and the root's fer_edge/ folder would then hide the installed package.
    done = subprocess.run(
        [str(venv_python), "-m", "pytest", "-m", "device", "-q", "-p", "no:cacheprovider", "."],
        capture_output=True, text=True, timeout=1200, cwd=REPO_ROOT / "tests", env=env,
    )  # fmt: skip
    tail = done.stdout[-4000:] + done.stderr[-2000:]
    assert done.returncode == 0, f"device tests failed in the {release} venv:\n{tail}"
    assert " passed" in done.stdout and " skipped" not in done.stdout, tail
