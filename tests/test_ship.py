"""``fer-edge ship RUN DEST``: a finished training run becomes a shipped float model with its
sidecar and training files; everything else is one ``error:`` line with nothing written.

The slow tests ship the real tiny run (conftest.py); test_convert.py converts what it ships and
runs the regression tests on it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from clitools import assert_one_line_error, fer_edge

from fer_edge.sidecar import read_sidecar


def files_under(folder: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_a_run_folder_that_is_not_there_is_one_line(tmp_path: Path) -> None:
    done = fer_edge("ship", tmp_path / "runs" / "edge", tmp_path / "edge.keras", check=False)
    assert_one_line_error(done, "RUN", "no such folder")
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_is_no_run_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    done = fer_edge("ship", tmp_path / "photos", tmp_path / "edge.keras", check=False)
    assert_one_line_error(done, "no run.json", "not a fer-edge train folder")


def test_a_run_still_training_is_refused_with_how_to_finish_it(tmp_path: Path) -> None:
    run = tmp_path / "runs" / "edge"
    (run / "checkpoints").mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"arch": "edge", "preprocessing": {"id": "x"}}))
    done = fer_edge("ship", run, tmp_path / "edge.keras", check=False)
    assert_one_line_error(done, "has not finished", f"fer-edge train --out {run} --resume")
    assert not (tmp_path / "edge.keras").exists() and not (tmp_path / "edge.json").exists()


@pytest.fixture()
def run_copy(tiny_run: Path, tmp_path: Path) -> Path:
    """The tiny run's files (not its checkpoints), where a test may change them."""
    run = tmp_path / "runs" / "tiny"
    shutil.copytree(tiny_run, run, ignore=shutil.ignore_patterns("checkpoints", "*.tflite", "tiny-*"))
    return run


@pytest.mark.slow
def test_ship_writes_the_model_its_sidecar_and_files_and_says_so(run_copy: Path, tmp_path: Path) -> None:
    dest = tmp_path / "models" / "tiny" / "tiny.keras"
    done = fer_edge("ship", run_copy, dest)
    assert (run_copy / "model.keras").read_bytes() == dest.read_bytes()
    card = read_sidecar(dest)
    assert card["metrics"]["test"]["accuracy"] == json.loads((run_copy / "metrics.json").read_text())["accuracy"]
    written = ["tiny.keras", "tiny.json", *card["files"].values()]
    assert sorted(path.name for path in dest.parent.iterdir()) == sorted(written)
    assert "tiny-history.csv" in written and "tiny-curves.png" in written
    assert f"test accuracy {100 * card['metrics']['test']['accuracy']:.1f}%" in done.stdout
    assert all(name in done.stdout for name in written) and f"fer-edge convert {dest} --int8" in done.stdout

    before = files_under(dest.parent)
    again = fer_edge("ship", run_copy, dest, check=False)
    assert_one_line_error(again, f"DEST {dest}", "exists", "--overwrite")
    assert files_under(dest.parent) == before, "a refused ship leaves the shipped files as they were"
    fer_edge("ship", run_copy, dest, "--overwrite")
    assert read_sidecar(dest)["metrics"] == card["metrics"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("dest", "fragment"),
    [
        ("{run}/model.keras", "is inside RUN"),  # over the run's own model
        ("{run}/run.keras", "is inside RUN"),  # its sidecar would replace run.json
        ("{tmp}/tiny.h5", "must end in .keras"),
        ("{tmp}/notes.txt/tiny.keras", "is a file, not a folder"),
    ],
)
def test_a_dest_that_clashes_or_cannot_be_written_is_one_line_and_nothing_changes(run_copy: Path, tmp_path: Path, dest: str, fragment: str) -> None:
    (tmp_path / "notes.txt").write_text("a file where DEST needs a folder")
    before = files_under(tmp_path)
    done = fer_edge("ship", run_copy, dest.format(run=run_copy, tmp=tmp_path), check=False)
    assert_one_line_error(done, fragment)
    assert files_under(tmp_path) == before


@pytest.mark.slow
def test_a_run_whose_metrics_are_damaged_is_one_line(run_copy: Path, tmp_path: Path) -> None:
    (run_copy / "metrics.json").write_text('{"accuracy": 0.5')  # cut short
    done = fer_edge("ship", run_copy, tmp_path / "tiny.keras", check=False)
    assert_one_line_error(done, "metrics.json: unreadable")
    assert not (tmp_path / "tiny.keras").exists()


def test_nothing_is_shipped_into_the_data_the_run_trained_on(tmp_path):
    """DEST inside the run's --data folder is refused before any file is written."""
    from fer_edge.convert.ship import check_destination
    from fer_edge.errors import FerEdgeError

    data, run = tmp_path / "fer2013", tmp_path / "run"
    data.mkdir()
    run.mkdir()
    with pytest.raises(FerEdgeError, match="is inside the run's --data"):
        check_destination(run, {"config": {"data": str(data)}}, data / "x.keras", with_weights=True, overwrite=False)
    assert list(data.iterdir()) == []

