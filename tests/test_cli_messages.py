"""What ``fer-edge`` prints besides its results: one ``error:`` line for every user error (usage
errors too), examples in every command's help, and no third-party log lines unless ``--verbose``.

These tests run without ``TF_CPP_MIN_LOG_LEVEL`` (clitools sets it for the others): the quiet
output must come from fer-edge itself, as a user gets it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from clitools import assert_one_line_error, copy_test_faces, fer_edge, small_filesystem


#: The environment a user has: no log settings of fer-edge's test helpers.
USER_ENV = {name: value for name, value in os.environ.items() if name not in ("TF_CPP_MIN_LOG_LEVEL", "OPENCV_LOG_LEVEL", "GLOG_minloglevel")}
#: Lines of TensorFlow, absl, TFLite and OpenCV logs that must not reach a user unasked.
NOISE = re.compile(r"absl::InitializeLog|^[IWE]\d{4} |oneDNN|cuInit|CUDA|XNNPACK|^INFO: |WARN:|VIDEOIO|cpu_feature_guard", re.M)


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["run", "--bogus"], ["no such option: --bogus", "see fer-edge run --help"]),
        (["eval"], ["missing argument", "see fer-edge eval --help"]),
        (["convert", "--int8", "--float16", "x.keras"], ["choose one of --int8, --float16, --dynamic"]),
        (["run", "--max-frames", "many"], ["'--max-frames'", "see fer-edge run --help"]),
        (["bogus"], ["no such command 'bogus'", "see fer-edge --help"]),
        (["ship", "only-one-argument"], ["missing argument 'DEST'", "see fer-edge ship --help"]),
        (["eval", "model.tflite", "--predictions", "-"], ["--predictions -: give a file name"]),
        (["eval", "model.tflite", "--split", "bogus"], ["--split 'bogus' is not one of train, test, private, val"]),
    ],
)
def test_usage_errors_are_one_error_line_and_exit_2(args: list[str], fragments: list[str]) -> None:
    done = fer_edge(*args, check=False)
    assert done.returncode == 2
    assert_one_line_error(done, *fragments)
    assert done.stderr.count("\n") == 1 and "Usage:" not in done.stderr and "╭" not in done.stderr, done.stderr


@pytest.mark.parametrize("command", ["train", "eval", "run", "convert", "ship"])
def test_every_commands_help_shows_examples_that_fit_80_columns(command: str) -> None:
    shown = fer_edge(command, "--help", env={**USER_ENV, "COLUMNS": "80"}).stdout
    examples = shown[shown.index("Example") :]
    assert re.search(rf"^ *fer-edge {command} \S", examples, re.M), examples
    assert "--verbose" in shown
    assert all(len(line) <= 80 for line in shown.splitlines())


@pytest.mark.device
def test_a_missing_camera_is_exactly_one_error_line(edge_int8_model: Path) -> None:
    """No camera 7 here: OpenCV's V4L2 warnings and the interpreter's INFO line stay quiet."""
    done = fer_edge("run", "--camera", 7, "--model", edge_int8_model, "--no-display", check=False, env=USER_ENV)
    assert done.returncode == 2
    assert done.stderr.startswith("error: --camera 7: cannot open camera 7") and done.stderr.count("\n") == 1, done.stderr
    verbose = fer_edge("run", "--camera", 7, "--model", edge_int8_model, "--no-display", "--verbose", check=False, env=USER_ENV)
    assert_one_line_error(verbose, "--camera 7")
    assert "XNNPACK" in verbose.stderr, "--verbose shows the libraries' own lines"


@pytest.fixture()
def small_data(fer2013_dir: Path, tmp_path: Path) -> Path:
    """A FER2013 folder root with 3 real test faces per class."""
    return copy_test_faces(fer2013_dir, tmp_path / "data", 3)


def test_eval_of_the_int8_model_prints_its_report_and_no_log_noise(edge_int8_model: Path, small_data: Path) -> None:
    done = fer_edge("eval", edge_int8_model, "--data", small_data, env=USER_ENV)
    assert "accuracy" in done.stdout and "21" in done.stdout
    assert not NOISE.search(done.stderr + done.stdout), done.stderr


@pytest.mark.slow
def test_eval_of_a_keras_model_keeps_tensorflows_start_up_lines_quiet(small_data: Path) -> None:
    """Importing TensorFlow writes absl's early lines (oneDNN, CUDA probing) straight to stderr."""
    from clitools import REPO_ROOT

    done = fer_edge("eval", REPO_ROOT / "models" / "edge" / "edge.keras", "--data", small_data, env=USER_ENV)
    assert "accuracy" in done.stdout
    assert not NOISE.search(done.stderr), done.stderr


def test_a_plot_that_does_not_fit_on_the_disk_is_one_error_line_and_no_file(edge_int8_model: Path, small_data: Path, tmp_path: Path) -> None:
    """The confusion matrix is drawn in memory and written whole: a full disk is one line, with
    no traceback and no cut PNG."""
    with small_filesystem(tmp_path / "disk", "16k") as disk:
        done = fer_edge("eval", edge_int8_model, "--data", small_data, "--confusion", disk / "cm.png", check=False)
        assert_one_line_error(done, "cm.png: cannot write (No space left on device)")
        assert list(disk.iterdir()) == []

