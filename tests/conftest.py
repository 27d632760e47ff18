"""Shared fixtures: the real FER2013 data, found where the project expects it.

In CI (CI=true) missing data is a failure, never a skip: a green run must mean the tests ran on
the real images. Elsewhere a missing dataset skips with the reason shown.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from clitools import REPO_ROOT, require

from fer_edge.contract import Dataset
from fer_edge.dataset import load_split


@pytest.fixture(scope="session")
def fer2013_dir() -> Path:
    """FER2013 folder root: $FER2013_DIR, else ../shared/fer2013 beside the repository."""
    root = Path(os.environ.get("FER2013_DIR", REPO_ROOT.parent / "shared" / "fer2013"))
    require((root / "train").is_dir() and (root / "test").is_dir(), f"FER2013 not found at {root}")
    return root


@pytest.fixture(scope="session")
def test_split(fer2013_dir: Path) -> Dataset:
    return load_split(fer2013_dir, "test")


@pytest.fixture(scope="session")
def train_split(fer2013_dir: Path) -> Dataset:
    return load_split(fer2013_dir, "train")


@pytest.fixture(scope="session")
def edge_int8_model() -> Path:
    """The shipped int8 model (models/edge/edge-int8.tflite); a missing model fails, never skips.

    $FER_EDGE_TEST_MODEL points the tests at another model while developing.
    """
    path = Path(os.environ.get("FER_EDGE_TEST_MODEL", REPO_ROOT / "models" / "edge" / "edge-int8.tflite"))
    if not path.is_file():
        pytest.fail(f"shipped model {path} is missing: the runtime tests need it (fer-edge convert writes it)")
    return path


@pytest.fixture(scope="session")
def tiny_run(fer2013_dir: Path, tmp_path_factory) -> Path:
    """One real, short training run shared by the train, eval and convert tests.

    1000 images per class, 8 epochs of the tiny net, seed 3 (about 30 s on a 2-vCPU x86_64 VM):
    enough to beat chance clearly, small enough for CI. What the command printed is kept beside
    the run folder, in ``train-output.txt``.
    """
    from clitools import fer_edge

    out = tmp_path_factory.mktemp("runs") / "tiny"
    trained = fer_edge("train", "--arch", "tiny", "--data", fer2013_dir, "--out", out,
                       "--limit-per-class", 1000, "--epochs", 8, "--batch-size", 32, "--seed", 3)  # fmt: skip
    (out.parent / "train-output.txt").write_text(trained.stdout)
    return out
