"""A run killed at any moment of an epoch's checkpoint resumes from one consistent epoch: the
restart point, the best weights and state.json always describe the same epochs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from clitools import small_filesystem

from fer_edge.train.run_folder import BEST_WEIGHTS, RESTART_POINT, RunFolder, pending_name, prepare_run


@pytest.fixture
def run(tmp_path: Path) -> RunFolder:
    folder = RunFolder(tmp_path / "run")
    folder.checkpoints.mkdir(parents=True)
    return folder


def epoch_written(run: RunFolder, epoch: int, improved: bool) -> dict:
    """What an epoch's checkpoint writes before state.json: its files under pending names."""
    (run.path / "checkpoints" / pending_name(RESTART_POINT, epoch)).write_text(f"restart point {epoch}")
    if improved:
        (run.path / "checkpoints" / pending_name(BEST_WEIGHTS, epoch)).write_text(f"best {epoch}")
    return {"epoch": epoch, "best_epoch": epoch if improved else 1}


def committed(run: RunFolder, state: dict) -> None:
    (run.path / "checkpoints" / "state.json").write_text(json.dumps(state))
    run.commit_checkpoints(state)


def contents(run: RunFolder) -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted((run.path / "checkpoints").iterdir()) if path.name != "state.json"}


def test_pending_names_keep_the_suffixes_keras_needs():
    assert pending_name(RESTART_POINT, 7) == "last.pending-epoch0007.keras"
    assert pending_name(BEST_WEIGHTS, 12) == "best.pending-epoch0012.weights.h5"


def test_the_layout_users_see_is_the_run_folders(run):
    assert (run.run_record, run.restart_point, run.best_weights, run.state_file) == (
        run.path / "run.json", run.path / "checkpoints" / "last.keras", run.path / "checkpoints" / "best.weights.h5", run.path / "checkpoints" / "state.json"
    )  # fmt: skip
    assert [p.name for p in (run.history, run.model, run.metrics, run.curves, run.confusion)] == [
        "history.csv", "model.keras", "metrics.json", "curves.png", "confusion.png"
    ]  # fmt: skip


def test_a_kill_before_state_json_resumes_from_the_epoch_before(run):
    committed(run, epoch_written(run, 1, improved=True))
    state = {"epoch": 1, "best_epoch": 1}
    epoch_written(run, 2, improved=True)  # killed here: state.json still names epoch 1
    assert run.recover_checkpoints(state) == [pending_name(BEST_WEIGHTS, 2), pending_name(RESTART_POINT, 2)]
    assert contents(run) == {BEST_WEIGHTS: "best 1", RESTART_POINT: "restart point 1"}


def test_a_kill_after_state_json_completes_the_epoch(run):
    committed(run, epoch_written(run, 1, improved=True))
    state = epoch_written(run, 2, improved=True)
    (run.path / "checkpoints" / "state.json").write_text(json.dumps(state))  # killed here: files not yet moved
    assert run.recover_checkpoints(state) == []
    assert contents(run) == {BEST_WEIGHTS: "best 2", RESTART_POINT: "restart point 2"}


def test_an_epoch_that_did_not_improve_keeps_the_earlier_best(run):
    committed(run, epoch_written(run, 1, improved=True))
    committed(run, epoch_written(run, 2, improved=False))
    assert contents(run) == {BEST_WEIGHTS: "best 1", RESTART_POINT: "restart point 2"}


def test_resume_recovers_a_first_epoch_killed_after_state_json(run, tmp_path):
    """Killed before last.keras was ever in place: --resume still finds its restart point."""
    from fer_edge.train.config import new_run_config

    state = epoch_written(run, 1, improved=True)
    (run.path / "checkpoints" / "state.json").write_text(json.dumps(state))
    config = new_run_config(arch="tiny", out=run.path, data=tmp_path / "data")
    (run.path / "run.json").write_text(json.dumps({"config": config.to_dict()}))
    _, resumed_state = prepare_run(config, resume=True)
    assert resumed_state["epoch"] == 1
    assert contents(run) == {BEST_WEIGHTS: "best 1", RESTART_POINT: "restart point 1"}


@pytest.mark.slow
def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(fer2013_dir, tmp_path):
    """Three epochs in one go, and two then --resume for the third: the same batches, the same
    dropout masks (reseeded by epoch), the same optimizer state, so the same weights."""
    import keras
    import numpy as np

    from clitools import fer_edge

    common = ["--arch", "tiny", "--data", fer2013_dir, "--limit-per-class", 100, "--batch-size", 32, "--seed", 3]
    fer_edge("train", *common, "--epochs", 3, "--out", tmp_path / "straight")
    fer_edge("train", *common, "--epochs", 2, "--out", tmp_path / "resumed")
    fer_edge("train", "--out", tmp_path / "resumed", "--resume", "--epochs", 3)
    straight = keras.models.load_model(tmp_path / "straight" / "checkpoints" / "last.keras").get_weights()
    resumed = keras.models.load_model(tmp_path / "resumed" / "checkpoints" / "last.keras").get_weights()
    assert max(float(np.abs(a - b).max()) for a, b in zip(straight, resumed)) == 0.0


@pytest.mark.slow
def test_a_disk_that_fills_during_training_stops_it_in_one_line_with_a_whole_epoch_kept(fer2013_dir, tmp_path):
    """1.5 MB holds one epoch's restart point and best weights of the tiny net, not the second's."""
    import keras

    from clitools import assert_one_line_error, fer_edge

    with small_filesystem(tmp_path / "disk", "1536k") as disk:
        run = disk / "run"
        done = fer_edge("train", "--arch", "tiny", "--data", fer2013_dir, "--limit-per-class", 50, "--epochs", 3, "--out", run, check=False)
        assert_one_line_error(done, "cannot write (No space left on device)", f"fer-edge train --out {run} --resume")
        moved = tmp_path / "run"
        shutil.copytree(run, moved)
    assert json.loads((moved / "checkpoints" / "state.json").read_text())["epoch"] == 1
    keras.models.load_model(moved / "checkpoints" / "last.keras")  # whole, not cut short
    resumed = fer_edge("train", "--out", moved, "--resume", "--epochs", 3)
    assert json.loads((moved / "checkpoints" / "state.json").read_text())["epoch"] == 3, resumed.stdout[-500:]


def test_convert_into_a_read_only_folder_is_refused_before_any_work(tmp_path, fer2013_dir):
    from clitools import assert_one_line_error, fer_edge

    model = tmp_path / "M.keras"
    model.write_bytes(b"never read: the output is checked first")
    with small_filesystem(tmp_path / "ro", "64k", read_only=True) as folder:
        done = fer_edge("convert", model, "--data", fer2013_dir, "--out", folder / "M8.tflite", check=False)
    assert_one_line_error(done, f"--out {folder / 'M8.tflite'}: cannot write in {folder} (Read-only file system)")
