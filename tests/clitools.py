"""Running ``fer-edge`` the way a user does, for every test file: a subprocess and its one-line errors."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[1]
#: The CLI as installed beside the interpreter running the tests, so a device venv tests its own
#: install. (``python -m`` from the repository root would import the clone's ``fer_edge/`` folder
#: instead of an installed wheel.)
CONSOLE_SCRIPT = Path(sys.executable).with_name("fer-edge")
FER_EDGE = [str(CONSOLE_SCRIPT)] if CONSOLE_SCRIPT.is_file() else [sys.executable, "-m", "fer_edge.cli"]
#: TensorFlow's C++ start-up lines would bury the output a test reads.
QUIET_TF = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def fer_edge(*args: object, check: bool = True, env: dict | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run ``fer-edge ARGS`` from the repository root; with ``check``, a failure shows its output."""
    result = subprocess.run(
        [*FER_EDGE, *map(str, args)], capture_output=True, text=True, env=env or QUIET_TF, timeout=timeout, cwd=REPO_ROOT
    )
    if check and result.returncode != 0:
        raise AssertionError(f"fer-edge {' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}")
    return result


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    """A user error: non-zero exit, no traceback, exactly one ``error:`` line holding each fragment."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


def require(condition: bool, why: str) -> None:
    """Skip a test whose need is unmet, saying why; in CI (CI=true) fail instead, never skip silently."""
    import pytest

    if condition:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{why} (CI=true: required, not skipped)")
    pytest.skip(why)


def load_tool(name: str) -> ModuleType:
    """``tools/NAME.py`` (NAME may have folders: ``offline_gpu/carry``), a script that is not part
    of the installed package, imported by its path."""
    module_name = "fer_edge_tools_" + name.replace("/", "_")
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, REPO_ROOT / "tools" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return sys.modules[module_name]


def copy_test_faces(fer2013_dir: Path, root: Path, per_class: int) -> Path:
    """A FER2013 folder root at ``root`` holding the first ``per_class`` real test faces of each class."""
    from fer_edge.contract import CLASS_NAMES

    for name in CLASS_NAMES:
        dest = root / "test" / name
        dest.mkdir(parents=True)
        for source in sorted((fer2013_dir / "test" / name).iterdir())[:per_class]:
            shutil.copy(source, dest / source.name)
    return root


@contextmanager
def small_filesystem(folder: Path, size: str, read_only: bool = False):
    """A tmpfs of ``size`` mounted on ``folder`` (root only): a disk that fills, or cannot be written."""
    require(os.geteuid() == 0 and shutil.which("mount") is not None, "a small filesystem needs root to mount a tmpfs")
    folder.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True, text=True)
    require(mounted.returncode == 0, f"cannot mount a tmpfs here ({mounted.stderr.strip()})")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
