"""Second virtual environments for tests that must run without TensorFlow, built as docs/running.md says.

Each is made once per set of install inputs (pyproject.toml's requirements, the pip line, Python)
in the cache folder outside the repository, reused while those inputs are unchanged, and the
one it replaces is deleted.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from clitools import REPO_ROOT

from fer_edge.dataset import cache_dir


def install_requirements() -> bytes:
    """What an install of fer-edge depends on: pyproject's requirements, not its tool settings."""
    import json
    import tomllib

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    return json.dumps([project.get("requires-python"), project["dependencies"], project["optional-dependencies"]], sort_keys=True).encode()


def venv_dir(name: str, pip_install: list[str], python: str | None = None) -> Path:
    """One venv per set of install inputs (the requirements, the pip line, this repo's path, Python)."""
    digest = hashlib.sha256()
    for part in (install_requirements(), " ".join(pip_install).encode(), (python or sys.version).encode()):
        digest.update(part)
    return cache_dir() / f"{name}-venv-{digest.hexdigest()[:12]}"


def base_python() -> str:
    """The plain `python3` the venv is made from (a venv made from inside a venv would inherit it)."""
    return getattr(sys, "_base_executable", None) or shutil.which("python3") or sys.executable


def find_python(version: str) -> str | None:
    """A CPython ``version`` ("3.13") interpreter: on PATH, else one pyenv installed; None if neither."""
    candidates = [shutil.which(f"python{version}")]
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python{version}"), reverse=True)
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True, text=True)
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    return None


def build_venv(venv: Path, pip_install: list[str], *, system_site_packages: bool = False, python: str | None = None) -> Path:
    """Make (or reuse) the venv with ``python`` (default: the one running the tests) and install
    ``pip_install`` into it; returns the venv's python."""
    venv_python = venv / "bin" / "python"
    ready = venv / ".fer-edge-ready"
    if ready.is_file() and venv_python.is_file():
        return venv_python
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    steps = [
        [python or base_python(), "-m", "venv", *(["--system-site-packages"] if system_site_packages else []), str(venv)],
        [str(venv_python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
        [str(venv_python), "-m", "pip", "install", "--quiet", *pip_install],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=1200)
        if done.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            pytest.fail(f"building {venv.name} failed at {' '.join(step)}:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
    ready.write_text(" ".join(pip_install) + "\n")
    # The venvs of earlier install inputs are not used again: one of each kind stays on disk.
    kind = venv.name.rsplit("-", 1)[0] + "-"
    for stale in venv.parent.glob(kind + "*"):
        if stale != venv and stale.name.rsplit("-", 1)[0] + "-" == kind:
            shutil.rmtree(stale, ignore_errors=True)
    return venv_python
