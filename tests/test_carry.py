"""Carrying the training faces to an offline GPU machine (tools/offline_gpu/carry.py), and training there without test/."""

from __future__ import annotations

import io
import json
import lzma
from pathlib import Path

import numpy as np
import pytest

from clitools import fer_edge, load_tool

from fer_edge.contract import Dataset
from fer_edge.dataset import MissingSplit, load_split, write_csv
from fer_edge.errors import FerEdgeError
from fer_edge.splits import training_indices

carry = load_tool("offline_gpu/carry")
pack, unpack, carry_main = carry.pack, carry.unpack, carry.main


@pytest.fixture(scope="module")
def training_csv(test_split: Dataset, tmp_path_factory) -> Path:
    """Real faces as the Training rows of a FER2013 CSV (its other Usages absent)."""
    path = tmp_path_factory.mktemp("carry") / "faces.csv"
    write_csv(path, {"train": test_split})
    return path


def test_unpacking_gives_back_every_face_in_order_so_the_validation_split_is_the_same(training_csv: Path, tmp_path: Path) -> None:
    packed = pack(training_csv, tmp_path / "faces.npz.xz")
    assert packed.stat().st_size < training_csv.stat().st_size / 3
    again = unpack(packed, tmp_path / "again.csv")
    before, after = load_split(training_csv, "train"), load_split(again, "train")
    np.testing.assert_array_equal(before.images, after.images)
    np.testing.assert_array_equal(before.labels, after.labels)
    for seed in (0, 1):
        for a, b in zip(training_indices(before.labels, val_fraction=0.1, seed=seed), training_indices(after.labels, val_fraction=0.1, seed=seed)):
            np.testing.assert_array_equal(a, b)
    with pytest.raises(MissingSplit, match="no rows with Usage PublicTest"):
        load_split(again, "test")


def test_a_file_that_is_no_pack_is_one_line(tmp_path: Path, capsys) -> None:
    bogus = tmp_path / "bogus.npz.xz"
    bogus.write_bytes(b"not xz at all")
    with pytest.raises(FerEdgeError, match="not a FER2013 pack"):
        unpack(bogus, tmp_path / "out.csv")
    assert carry_main(["unpack", str(bogus), str(tmp_path / "out.csv")]) == 2
    assert capsys.readouterr().err.startswith(f"error: {bogus}: not a FER2013 pack")
    assert not (tmp_path / "out.csv").exists()
    # An xz file of other arrays is refused too, naming what it lacks.
    other = tmp_path / "other.npz.xz"
    with lzma.open(other, "wb") as handle:
        buffer = io.BytesIO()
        np.savez(buffer, weights=np.zeros(3))
        handle.write(buffer.getvalue())
    with pytest.raises(FerEdgeError, match="no train_images, train_labels, train_sha256"):
        unpack(other, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.slow
def test_training_on_data_without_a_test_split_finishes_and_leaves_the_report_to_eval(training_csv: Path, fer2013_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "no-test"
    done = fer_edge("train", "--arch", "tiny", "--data", training_csv, "--out", out, "--epochs", 1, "--batch-size", 32)
    assert "no rows with Usage PublicTest" in done.stdout and "fer-edge eval" in done.stdout
    assert (out / "model.keras").is_file() and (out / "curves.png").is_file()
    assert not (out / "metrics.json").exists() and not (out / "confusion.png").exists()
    assert json.loads((out / "run.json").read_text())["epochs_run"] == 1
    # Reported where the test split is, the run folder is complete.
    fer_edge("eval", out / "model.keras", "--data", fer2013_dir, "--json", out / "metrics.json", "--confusion", out / "confusion.png")
    assert json.loads((out / "metrics.json").read_text())["n"] == 3589
