"""No output path may replace an input: each command refuses the clash in one line, before any
work, and leaves every file as it was (paths compared after resolving links)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from clitools import assert_one_line_error, fer_edge

from fer_edge.errors import FerEdgeError
from fer_edge.files import check_no_clash, remove_stale_temporaries, write_atomically, write_json


@pytest.fixture()
def model_copy(edge_int8_model, tmp_path) -> Path:
    """The shipped int8 model and its sidecar, copied where a test may try to destroy them."""
    model = tmp_path / "X.tflite"
    shutil.copy(edge_int8_model, model)
    shutil.copy(edge_int8_model.with_suffix(".json"), model.with_suffix(".json"))
    return model


def snapshot(*paths: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in paths}


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--json", "{model}"], "--json {model}: is the model"),
        (["--json", "{sidecar}"], "--json {sidecar}: is the model's sidecar"),
        (["--predictions", "{model}"], "--predictions {model}: is the model"),
        (["--json", "{link}"], "is the model"),
        (["--json", "{tmp}/r.json", "--predictions", "{tmp}/r.json"], "is also --json"),
    ],
)
def test_eval_refuses_outputs_that_are_its_inputs(model_copy, fer2013_dir, tmp_path, flags, message):
    link = tmp_path / "link.tflite"
    link.symlink_to(model_copy)
    names = {"model": model_copy, "sidecar": model_copy.with_suffix(".json"), "link": link, "tmp": tmp_path}
    before = snapshot(model_copy, model_copy.with_suffix(".json"))
    done = fer_edge("eval", model_copy, "--data", fer2013_dir, *[f.format(**names) for f in flags], check=False)
    assert_one_line_error(done, message.format(**names))
    assert snapshot(model_copy, model_copy.with_suffix(".json")) == before
    assert not (tmp_path / "r.json").exists()


def test_eval_refuses_a_report_inside_the_data(model_copy, tmp_path):
    data = tmp_path / "data"  # empty: the clash is refused before the data is read
    data.mkdir()
    done = fer_edge("eval", model_copy, "--data", data, "--json", data / "report.json", check=False)
    assert_one_line_error(done, "is inside --data")
    assert not (data / "report.json").exists()


@pytest.mark.parametrize("option", ["--json", "--record"])
def test_run_refuses_to_write_over_its_video(model_copy, tmp_path, option):
    video = tmp_path / "in.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
    for _ in range(3):
        writer.write(np.full((48, 64, 3), 110, np.uint8))
    writer.release()
    before = snapshot(video)
    done = fer_edge("run", "--camera", video, "--model", model_copy, "--no-display", option, video, check=False)
    assert_one_line_error(done, f"{option} {video}: is --camera")
    assert snapshot(video) == before


def test_run_refuses_to_write_into_its_image_folder(model_copy, tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.full((48, 64, 3), 110, np.uint8))
    done = fer_edge("run", "--camera", folder, "--model", model_copy, "--no-display", "--record", folder / "out.mp4", check=False)
    assert_one_line_error(done, "is inside --camera")
    assert sorted(p.name for p in folder.iterdir()) == ["a.png"]


def test_convert_refuses_to_write_over_the_model_it_converts(tmp_path, fer2013_dir):
    model = tmp_path / "M.keras"
    model.write_bytes(b"not read: the clash is refused first")
    done = fer_edge("convert", model, "--data", fer2013_dir, "--out", tmp_path / "M8.tflite", "--json", model, check=False)
    assert_one_line_error(done, f"--json {model}: is the model")
    assert model.read_bytes() == b"not read: the clash is refused first"
    assert not (tmp_path / "M8.tflite").exists()


def test_stdout_and_distinct_files_are_no_clash(tmp_path):
    check_no_clash({"--json": "-", "--record": tmp_path / "a.mp4"}, {"--camera": tmp_path / "b.mp4", "--model": None})
    with pytest.raises(FerEdgeError, match="is also --json"):
        check_no_clash({"--json": tmp_path / "a", "--predictions": tmp_path / "." / "a"}, {})


def test_convert_clears_what_a_killed_conversion_left(tmp_path, fer2013_dir):
    """A conversion killed mid-write leaves .NAME.PID.tmp.tflite (and its sidecar's): the next
    conversion to that name removes them, whatever it then does."""
    dead_pid = 2**22 + 1  # above Linux's largest process id: no process has it
    stale = [tmp_path / f".M8.{dead_pid}.tmp.tflite", tmp_path / f".M8.json.{dead_pid}.tmp"]
    for path in stale:
        path.write_bytes(b"half a model")
    model = tmp_path / "M.keras"
    model.write_bytes(b"not a zip")
    done = fer_edge("convert", model, "--data", fer2013_dir, "--out", tmp_path / "M8.tflite", check=False)
    assert_one_line_error(done, "M.keras: not a Keras model")
    assert not any(path.exists() for path in stale)


def test_eval_refuses_to_write_over_the_runs_record(model_copy, fer2013_dir):
    run_record = model_copy.parent / "run.json"
    run_record.write_text('{"config": {}}')
    done = fer_edge("eval", model_copy, "--data", fer2013_dir, "--json", run_record, check=False)
    assert_one_line_error(done, "is its run's run.json")
    assert run_record.read_text() == '{"config": {}}'


def test_train_refuses_a_run_folder_in_the_data_or_over_a_model_it_reads(tmp_path, model_copy):
    data = tmp_path / "data"
    data.mkdir()
    into_data = fer_edge("train", "--arch", "tiny", "--data", data, "--out", data / "run", check=False)
    assert_one_line_error(into_data, "is inside --data")
    assert not (data / "run").exists()
    start = tmp_path / "run" / "model.keras"
    start.parent.mkdir()
    start.write_bytes(b"weights to start from")
    over_model = fer_edge("train", "--arch", "tiny", "--data", data, "--init-from", start, "--out", start.parent, check=False)
    assert_one_line_error(over_model, "which the run reads and would write over")
    assert start.read_bytes() == b"weights to start from"


def test_reports_are_written_through_links_and_into_pipes_without_replacing_them(tmp_path):
    """A report is written whole by renaming a new file into place; that must replace neither a
    link the user named (the file it names is replaced) nor a pipe or a device (``/dev/stdout``,
    which is written in place)."""
    real, link = tmp_path / "real.json", tmp_path / "link.json"
    real.write_text("{}")
    link.symlink_to(real)
    write_json(link, {"accuracy": 0.7})
    assert link.is_symlink() and json.loads(real.read_text()) == {"accuracy": 0.7}
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_text()), daemon=True)
    reader.start()
    write_atomically(pipe, "through the pipe\n")
    reader.join(timeout=10)
    assert received == ["through the pipe\n"] and stat.S_ISFIFO(pipe.stat().st_mode)


def test_a_link_that_points_back_to_itself_is_refused_in_one_line(tmp_path):
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop)
    with pytest.raises(FerEdgeError, match="loop.json: a link that points back to itself"):
        check_no_clash({"--json": loop}, {"the model": tmp_path / "model.tflite"})


def test_clearing_a_killed_runs_temporaries_takes_only_its_own(tmp_path):
    """Names are matched as they are: the brackets of clip[1].mp4 are no glob pattern that takes
    clip1.mp4's temporary, and a running process's temporary is left alone."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    ours, other, running = tmp_path / f".clip[1].{dead}.tmp.mp4", tmp_path / f".clip1.{dead}.tmp.mp4", tmp_path / f".clip[1].{os.getpid()}.tmp.mp4"
    for path in (ours, other, running):
        path.write_bytes(b"partial")
    assert remove_stale_temporaries(tmp_path, ".clip[1].", ".tmp.mp4") == [ours]
    assert other.exists() and running.exists()


def test_train_refuses_an_out_that_is_a_file_or_holds_files_that_are_not_a_runs(tmp_path, fer2013_dir):
    """A folder of the user's own files (here a model.keras and history.csv, names a run writes)
    is not taken over by a new run; a file as --out, or under one, is one line, not a traceback."""
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    for name in ("model.keras", "history.csv"):
        (theirs / name).write_text(f"the user's own {name}")
    common = ["train", "--arch", "tiny", "--data", fer2013_dir, "--limit-per-class", 20, "--epochs", 1]
    assert_one_line_error(fer_edge(*common, "--out", theirs, check=False), "holds files that are not a run's")
    assert sorted(p.read_text() for p in theirs.iterdir()) == ["the user's own history.csv", "the user's own model.keras"]
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert_one_line_error(fer_edge(*common, "--out", afile, check=False), "is a file")
    assert_one_line_error(fer_edge(*common, "--out", afile / "run", check=False), f"{afile} is a file, not a folder")

