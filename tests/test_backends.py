"""``fer-edge train`` on Keras's JAX backend, in a venv without TensorFlow, as a GPU machine has it.

A GPU machine often has JAX or PyTorch and no TensorFlow. The test builds a venv with only the
``train-jax`` extra (Keras, JAX, matplotlib; no TensorFlow) and trains the tiny net there on
real faces (fer-edge picks JAX, the backend installed). Then it checks here, under TensorFlow,
that the run's model scores what the JAX run reported and converts to int8, and that its
checkpoint (optimizer state included) resumes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from clitools import QUIET_TF, REPO_ROOT, assert_one_line_error, fer_edge
from venvs import build_venv, venv_dir

PIP_INSTALL = ["-e", f"{REPO_ROOT}[train-jax]"]


@pytest.fixture(scope="module")
def jax_python() -> Path:
    """The python of a venv with the train-jax extra and no TensorFlow."""
    venv_python = build_venv(venv_dir("jax", PIP_INSTALL), PIP_INSTALL)
    probe = subprocess.run(
        [str(venv_python), "-c", "import importlib.util as u; print(u.find_spec('tensorflow') is None, u.find_spec('jax') is not None)"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert probe.stdout.split() == ["True", "True"], probe.stdout + probe.stderr[-2000:]
    return venv_python


def fer_edge_in(venv_python: Path, *args: object, env: dict | None = None) -> subprocess.CompletedProcess:
    """``fer-edge ARGS`` in another venv, with no backend named (fer-edge picks the installed one)."""
    env = dict(env or QUIET_TF)
    for name in ("PYTHONPATH", "KERAS_BACKEND"):
        env.pop(name, None)
    return subprocess.run(
        [str(venv_python), "-m", "fer_edge.cli", *map(str, args)], capture_output=True, text=True, timeout=900, cwd=REPO_ROOT, env=env
    )


@pytest.mark.slow
def test_training_runs_on_jax_without_tensorflow_and_its_run_continues_under_tensorflow(jax_python: Path, fer2013_dir: Path, test_split, tmp_path: Path) -> None:
    out = tmp_path / "jax-run"
    done = fer_edge_in(jax_python, "train", "--arch", "tiny", "--data", fer2013_dir, "--out", out,
                       "--limit-per-class", 300, "--epochs", 2, "--batch-size", 32, "--seed", 3)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Keras backend jax" in done.stdout
    run = json.loads((out / "run.json").read_text())
    assert run["versions"]["keras_backend"] == "jax" and "tensorflow" not in run["versions"], run["versions"]
    assert run["epochs_run"] == 2

    # The .keras file is backend-neutral: under TensorFlow it gives the JAX run's test report.
    from fer_edge.evaluate import keras_probs, load_keras_model

    reported = json.loads((out / "metrics.json").read_text())["accuracy"]
    probs = keras_probs(load_keras_model(out / "model.keras"), test_split.images)
    here = float((probs.argmax(axis=1) == test_split.labels).mean())
    assert abs(here - reported) <= 0.003, (here, reported)  # float rounding may flip a few near-ties
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-4)

    # It converts to int8 under TensorFlow like any model trained there.
    tflite = tmp_path / "jax-int8.tflite"
    converted = fer_edge("convert", out / "model.keras", "--int8", "--data", fer2013_dir, "--out", tflite, "--tolerance", 5)
    assert "drop" in converted.stdout and tflite.is_file() and tflite.with_suffix(".json").is_file()

    # So is its restart point: the run goes on under TensorFlow for a third epoch.
    moved = tmp_path / "continued"
    shutil.copytree(out, moved)
    resumed = fer_edge("train", "--out", moved, "--resume", "--epochs", 3, env={**QUIET_TF, "KERAS_BACKEND": "tensorflow"})
    assert f"resuming {moved} after epoch 2 of 3" in resumed.stdout
    assert json.loads((moved / "checkpoints" / "state.json").read_text())["epoch"] == 3
    assert os.path.getsize(moved / "model.keras") > 0


@pytest.mark.slow
def test_what_needs_tensorflow_says_so_in_one_line(jax_python: Path, fer2013_dir: Path, tmp_path: Path) -> None:
    mirrored = fer_edge_in(jax_python, "train", "--arch", "tiny", "--data", fer2013_dir, "--out", tmp_path / "m", "--strategy", "mirrored")
    assert_one_line_error(mirrored, "--strategy mirrored", "KERAS_BACKEND=tensorflow")
    assert not (tmp_path / "m").exists()
    model = REPO_ROOT / "models" / "edge" / "edge.keras"
    converting = fer_edge_in(jax_python, "convert", model, "--int8", "--out", tmp_path / "e.tflite", "--data", fer2013_dir)
    assert_one_line_error(converting, "needs TensorFlow", ".[train]")
    assert not (tmp_path / "e.tflite").exists()
    # And where the backend named is the one missing (here, under TensorFlow):
    missing = fer_edge("train", "--arch", "tiny", "--data", fer2013_dir, "--out", tmp_path / "j", check=False, env={**QUIET_TF, "KERAS_BACKEND": "jax"})
    assert_one_line_error(missing, "jax is not installed", "KERAS_BACKEND")
    assert not (tmp_path / "j").exists()
