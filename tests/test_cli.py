"""The ``fer-edge`` command as a user runs it: install layout, help, train, eval, resume, errors."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from clitools import FER_EDGE, QUIET_TF, assert_one_line_error, fer_edge

from fer_edge import __version__
from fer_edge.contract import CLASS_NAMES


def test_stage_folders_install_under_fer_edge_only(tmp_path: Path) -> None:
    code = (
        "import importlib.util as u, json;"
        "print(json.dumps({n: u.find_spec(n) is not None for n in "
        "['train', 'convert', 'device', 'models', 'fer_edge.train.trainer', 'fer_edge.convert', 'fer_edge.device.classifier']}))"
    )
    found = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True).stdout)
    assert found == {"train": False, "convert": False, "device": False, "models": False, "fer_edge.train.trainer": True, "fer_edge.convert": True, "fer_edge.device.classifier": True}


def test_version_and_help() -> None:
    assert fer_edge("--version").stdout.strip() == f"fer-edge {__version__}"
    listing = fer_edge("--help").stdout
    for command in ("train", "eval"):
        assert command in listing
        assert "--data" in fer_edge(command, "--help").stdout


def test_seed_architecture_has_the_reference_size() -> None:
    from fer_edge.train.architectures import get_architecture

    seed = get_architecture("seed")
    assert 4_400_000 <= seed.build().count_params() <= 4_600_000
    recipe = seed.recipe
    assert (recipe.optimizer, recipe.learning_rate, recipe.batch_size, recipe.epochs) == ("adam", 1e-4, 64, 65)
    assert (recipe.monitor, recipe.patience, recipe.label_smoothing) == ("val_loss", 10, 0.0)


def test_edge_architecture_fits_the_int8_budget() -> None:
    from fer_edge.train.architectures import get_architecture

    # int8 stores one byte per weight: 1.45M parameters keep the file under 1.5 MB.
    assert get_architecture("edge").build().count_params() < 1_450_000


def test_wide_teacher_is_the_edge_plan_at_twice_the_width() -> None:
    from fer_edge.train.architectures import get_architecture

    def conv_filters(model) -> list[int]:
        return [layer.filters for layer in model.layers if layer.__class__.__name__ == "Conv2D"]

    edge, wide = get_architecture("edge").build(), get_architecture("wide").build()
    assert 4_500_000 <= wide.count_params() <= 4_900_000, "a teacher must hold what the 1.5 MB edge net cannot"
    assert sorted(set(conv_filters(wide))) == [2 * f for f in sorted(set(conv_filters(edge)))]


def test_unknown_architecture_is_one_line(fer2013_dir: Path, tmp_path: Path) -> None:
    result = fer_edge("train", "--arch", "resnet999", "--data", fer2013_dir, "--out", tmp_path / "x", check=False)
    assert_one_line_error(result, "--arch 'resnet999' is unknown", "edge")


@pytest.mark.parametrize(
    "option, fragment",
    [(["--augment", "strongest"], "is not one of none, standard, strong"), (["--batch-size", "0"], "at least 1"),
     (["--epochs", "0"], "at least 1"), (["--val-fraction", "1.5"], "between 0 and 1"), (["--limit-per-class", "0"], "at least 1"),
     (["--warmup-epochs", "9", "--epochs", "5"], "fewer than --epochs (5)"), (["--optimizer", "lion"], "sgd, adam, adamw"),
     (["--precision", "fp8"], "auto, float32, mixed_bfloat16"), (["--mixup", "-0.2"], "0 (off) or more"),
     (["--distill-views", "crops"], "is not one of faces, augmented"),
     (["--average-from", "9", "--epochs", "5"], "an epoch from 1 to --epochs"), (["--strategy", "ring"], "auto, default, mirrored, one-device")],
)  # fmt: skip
def test_training_settings_that_cannot_train_are_refused_first(option: list[str], fragment: str, tmp_path: Path) -> None:
    result = fer_edge("train", "--arch", "tiny", "--data", tmp_path / "no-data-needed", "--out", tmp_path / "run", *option, check=False)
    assert_one_line_error(result, option[0], fragment)
    assert not (tmp_path / "run").exists()


def test_a_validation_share_too_small_to_hold_an_image_is_one_line_and_no_run(fer2013_dir: Path, tmp_path: Path) -> None:
    result = fer_edge("train", "--arch", "tiny", "--data", fer2013_dir, "--limit-per-class", 50, "--val-fraction", 0.001, "--out", tmp_path / "run", check=False)
    assert_one_line_error(result, "--val-fraction 0.001: holds out no image of the 350 used")
    assert not (tmp_path / "run").exists()


def test_the_recipes_warm_up_is_named_when_epochs_are_too_few(tmp_path: Path) -> None:
    """The edge recipe warms up for 3 epochs: a user who asked only for --epochs 2 is told what to change."""
    result = fer_edge("train", "--arch", "edge", "--data", tmp_path / "no-data-needed", "--out", tmp_path / "run", "--epochs", 2, check=False)
    assert_one_line_error(result, "--warmup-epochs 3: must be 0 or more, and fewer than --epochs (2): raise --epochs or set --warmup-epochs 0")


def test_resume_keeps_the_runs_settings_and_its_cosine_schedules_length(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "last.keras").write_bytes(b"")  # never loaded: refused before that
    config = {"arch": "edge", "recipe": {"epochs": 40, "batch_size": 128, "optimizer": "sgd", "learning_rate": 0.05, "schedule": "cosine"},
              "data": str(tmp_path / "data"), "out": str(run)}  # fmt: skip
    (run / "run.json").write_text(json.dumps({"config": config, "schedule_epochs": 40}))
    before = (run / "run.json").read_text()
    for option in (["--seed", "1"], ["--init-seed", "1"], ["--arch", "wide"], ["--val-fraction", "0.2"], ["--lr", "0.1"], ["--mixup", "0.2"], ["--average-from", "3"]):
        assert_one_line_error(fer_edge("train", "--out", run, "--resume", *option, check=False), option[0], "cannot change on --resume")
    longer = fer_edge("train", "--out", run, "--resume", "--epochs", 60, check=False)
    assert_one_line_error(longer, "--epochs 60", "cosine schedule ends at epoch 40", "--init-from")
    assert (run / "run.json").read_text() == before, "a refused resume changes nothing"


@pytest.mark.parametrize(
    ("run_json", "message"),
    [("{not json", "run.json: not a readable run record"), ('{"config": "edge"}', "run.json: its config is incomplete or malformed"), ("[1, 2]", "not a run record")],
)
def test_resume_with_a_damaged_run_record_is_one_line(tmp_path: Path, run_json: str, message: str) -> None:
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "last.keras").write_bytes(b"")  # never loaded: run.json is read first
    (run / "run.json").write_text(run_json)
    assert_one_line_error(fer_edge("train", "--out", run, "--resume", check=False), message)
    assert (run / "run.json").read_text() == run_json


def test_a_damaged_restart_point_on_its_own_backend_is_called_damaged(tmp_path: Path) -> None:
    """Advice to resume on the backend it was saved on is wrong when that is the backend in use."""
    import keras

    from fer_edge.errors import FerEdgeError
    from fer_edge.train.trainer import load_restart_point

    (tmp_path / "checkpoints").mkdir()
    with zipfile.ZipFile(tmp_path / "checkpoints" / "last.keras", "w") as archive:
        archive.writestr("config.json", "{not json")
    here = keras.backend.backend()
    (tmp_path / "run.json").write_text(json.dumps({"versions": {"keras_backend": here}}))
    with pytest.raises(FerEdgeError, match=f"saved on {here}, the backend in use, so the file is damaged"):
        load_restart_point(tmp_path)
    other = "jax" if here != "jax" else "tensorflow"
    (tmp_path / "run.json").write_text(json.dumps({"versions": {"keras_backend": other}}))
    with pytest.raises(FerEdgeError, match=f"resume it there \\(KERAS_BACKEND={other}\\)"):
        load_restart_point(tmp_path)


def test_eval_of_a_missing_model_is_one_line(fer2013_dir: Path, tmp_path: Path) -> None:
    result = fer_edge("eval", tmp_path / "nope.keras", "--data", fer2013_dir, check=False)
    assert_one_line_error(result, "nope.keras: model file not found")


def test_eval_of_a_file_that_is_no_model_is_one_line(fer2013_dir: Path, tmp_path: Path) -> None:
    fake = tmp_path / "fake.keras"
    fake.write_text("not a zip")
    assert_one_line_error(fer_edge("eval", fake, "--data", fer2013_dir, check=False), "fake.keras: not a Keras model: a .keras file is a zip archive")
    damaged = tmp_path / "damaged.keras"  # a zip, but not one Keras wrote: never "File not found" for a file that is there
    with zipfile.ZipFile(damaged, "w") as archive:
        archive.writestr("config.json", "{not json")
    result = fer_edge("eval", damaged, "--data", fer2013_dir, check=False)
    assert_one_line_error(result, "damaged.keras: cannot load Keras model")
    assert "File not found" not in result.stderr
    fake_tflite = tmp_path / "fake.tflite"
    fake_tflite.write_bytes(b"\0" * 64)
    assert_one_line_error(fer_edge("eval", fake_tflite, "--data", fer2013_dir, check=False), "fake.tflite: not a valid TFLite model")


def test_eval_refuses_unwritable_outputs_before_evaluating(tmp_path: Path) -> None:
    model = tmp_path / "m.keras"  # never read: the outputs are checked first
    for option, path, fragment in (
        ("--json", tmp_path / "missing" / "r.json", "does not exist"),
        ("--confusion", tmp_path / "missing" / "cm.png", "does not exist"),
        ("--confusion", tmp_path / "cm.jpg", "must end in .png"),
        ("--json", tmp_path, "is a folder"),
    ):
        assert_one_line_error(fer_edge("eval", model, option, path, check=False), option, fragment)
    assert list(tmp_path.iterdir()) == []


def test_eval_with_missing_data_is_one_line(tmp_path: Path) -> None:
    result = fer_edge("eval", tmp_path / "m.keras", "--data", tmp_path / "missing", check=False)
    assert_one_line_error(result, "missing: no such file or folder")


# ------------------------------------------------------------------ real training runs (slow)


@pytest.mark.slow
def test_training_writes_the_whole_run_folder(tiny_run: Path) -> None:
    for name in ("model.keras", "history.csv", "curves.png", "metrics.json", "confusion.png", "run.json"):
        assert (tiny_run / name).is_file(), name
    run = json.loads((tiny_run / "run.json").read_text())
    assert run["config"]["seed"] == 3 and run["config"]["arch"] == "tiny"
    assert run["commands"][0].startswith("fer-edge train --arch tiny --data ")
    assert run["epochs_run"] == 8 and 1 <= run["best_epoch"] <= 8
    assert run["data"]["val_images"] > 0 and run["versions"]["keras_backend"] == "tensorflow" and run["versions"]["tensorflow"]
    assert len((tiny_run / "history.csv").read_text().strip().splitlines()) == 1 + 8


@pytest.mark.slow
def test_training_ends_with_the_folder_it_wrote_and_the_labelled_test_table(tiny_run: Path) -> None:
    printed = (tiny_run.parent / "train-output.txt").read_text().splitlines()
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    end = printed.index(f"wrote {tiny_run}/: model.keras, run.json, history.csv, curves.png, metrics.json, confusion.png, checkpoints/")
    table = printed[end + 1 :]
    assert table[:2] == ["", "test/ (PublicTest, 3589 faces): model.keras"]
    assert [line.split()[0] for line in table[3:10]] == list(CLASS_NAMES)
    accuracy = next(line for line in table if line.split()[:1] == ["accuracy"]).split()
    assert accuracy[1:] == [f"{100 * metrics['accuracy']:.1f}", "3589"]


@pytest.mark.slow
def test_short_training_clearly_beats_chance_on_unseen_faces(tiny_run: Path) -> None:
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    assert metrics["split"] == "test" and metrics["n"] == 3589
    # Chance is 1/7 = 14%, always answering "happy" (the largest class) gets 25%.
    assert metrics["accuracy"] > 0.30, metrics["accuracy"]
    assert metrics["macro_f1"] > 0.20


@pytest.mark.slow
def test_eval_prints_the_accuracy_it_writes_to_json(tiny_run: Path, fer2013_dir: Path, tmp_path: Path) -> None:
    json_path, png, rows = tmp_path / "report.json", tmp_path / "cm.png", tmp_path / "predictions.csv"
    printed = fer_edge("eval", tiny_run / "model.keras", "--data", fer2013_dir, "--json", json_path, "--confusion", png, "--predictions", rows).stdout
    report = json.loads(json_path.read_text())
    # One row per test face, in the split's order, whose labels give the report's accuracy.
    with rows.open(newline="") as file:
        predictions = list(csv.DictReader(file))
    assert len(predictions) == report["n"] == 3589 and [int(r["index"]) for r in predictions] == list(range(3589))
    assert sum(r["true"] == r["predicted"] for r in predictions) / 3589 == pytest.approx(report["accuracy"], abs=1e-9)
    assert all(abs(sum(float(r[f"p_{name}"]) for name in CLASS_NAMES) - 1) < 1e-3 for r in predictions)
    assert set(report) >= {"accuracy", "macro_f1", "weighted_f1", "n", "per_class"}
    # What was scored, and how: the tiny run's sidecar-less model is scored without its mirror image.
    assert report["model"] == str(tiny_run / "model.keras") and report["test_time_flip"] is False and "[test]" in report["data"]
    assert printed.splitlines()[0].endswith("[test], test-time flip off")
    accuracy_line = next(line for line in printed.splitlines() if line.strip().startswith("accuracy"))
    assert float(accuracy_line.split()[1]) == pytest.approx(100 * report["accuracy"], abs=0.05)
    weighted_line = next(line for line in printed.splitlines() if line.strip().startswith("weighted avg"))
    assert float(weighted_line.split()[-2]) == pytest.approx(100 * report["weighted_f1"], abs=0.05)
    # The training run's own test report and a fresh eval agree.
    assert report["accuracy"] == pytest.approx(json.loads((tiny_run / "metrics.json").read_text())["accuracy"], abs=1e-6)
    assert png.stat().st_size > 10_000
    # JSON on stdout still draws the matrix.
    png.unlink()
    printed = fer_edge("eval", tiny_run / "model.keras", "--data", fer2013_dir, "--json", "-", "--confusion", png).stdout
    assert json.loads(printed)["accuracy"] == report["accuracy"] and png.stat().st_size > 10_000


@pytest.mark.slow
def test_a_killed_run_resumes_where_it_stopped(fer2013_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "killed"
    args = ["train", "--arch", "tiny", "--data", fer2013_dir, "--out", out, "--limit-per-class", 300, "--epochs", 5]
    proc = subprocess.Popen([*FER_EDGE, *map(str, args)], env=QUIET_TF, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    state = out / "checkpoints" / "state.json"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if state.is_file() and json.loads(state.read_text())["epoch"] >= 1:
            break
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)  # as a power cut would
    proc.wait()
    stopped_at = json.loads(state.read_text())["epoch"]
    assert stopped_at < 5, "the run finished before it could be interrupted"

    again = fer_edge("train", "--data", fer2013_dir, "--out", out, check=False)
    assert_one_line_error(again, "already holds a run", "--resume")

    resumed = fer_edge("train", "--out", out, "--resume").stdout
    assert f"resuming {out} after epoch {stopped_at} of 5" in resumed
    assert json.loads(state.read_text())["epoch"] == 5
    epochs_logged = {int(line.split(",")[0]) for line in (out / "history.csv").read_text().splitlines()[1:]}
    assert epochs_logged == set(range(5))
    run = json.loads((out / "run.json").read_text())
    assert len(run["commands"]) == 2 and run["commands"][1].endswith("--resume")
    assert (out / "model.keras").is_file() and run["epochs_run"] == 5
    # The continuation says where it ran and how much training came before it.
    (continuation,) = run["resumed"]
    epoch_seconds = json.loads(state.read_text())["epoch_seconds"]
    assert continuation["after_epoch"] == stopped_at and continuation["versions"]["keras_backend"] == "tensorflow"
    assert abs(continuation["train_seconds_before"] - sum(epoch_seconds[:stopped_at])) < 0.2


def test_a_restart_point_is_compiled_for_the_backend_that_resumes_it(test_split, tmp_path: Path) -> None:
    """JAX saves jit_compile=True in a restart point. TensorFlow on a CPU obeyed it with XLA, and a
    mixup edge run resumed on a 2-vCPU VM took 185 s per epoch, and 112 s once compiled again. The restart point is
    compiled again as a fresh run would be, its optimizer state, schedule and loss kept."""
    import keras

    from fer_edge.contract import to_model_input
    from fer_edge.train.architectures import get_architecture
    from fer_edge.train.optimizer import compile_for_training
    from fer_edge.train.trainer import load_restart_point

    arch = get_architecture("tiny")
    fresh = arch.build()
    compile_for_training(fresh, arch.recipe, steps_per_epoch=4)
    saved = arch.build()
    compile_for_training(saved, arch.recipe, steps_per_epoch=4)
    saved.compile(optimizer=saved.optimizer, loss=saved.loss, metrics=["accuracy"], jit_compile=True)  # as JAX leaves it
    rows = np.linspace(0, len(test_split.labels) - 1, 128).astype(int)
    faces, labels = to_model_input(test_split.images[rows]), np.eye(7, dtype=np.float32)[test_split.labels[rows]]
    saved.fit(faces, labels, batch_size=32, epochs=1, verbose=0)
    (tmp_path / "checkpoints").mkdir()
    saved.save(tmp_path / "checkpoints" / "last.keras")

    restored = load_restart_point(tmp_path)
    assert saved.jit_compile is True and restored.jit_compile == fresh.jit_compile
    assert int(restored.optimizer.iterations.numpy()) == 4
    for kept, trained in zip(restored.optimizer.variables, saved.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(kept), np.asarray(trained))
    np.testing.assert_allclose(restored.predict(faces, verbose=0), saved.predict(faces, verbose=0), atol=1e-5)
    assert isinstance(restored.loss, keras.losses.CategoricalCrossentropy)


@pytest.mark.slow
def test_a_restart_point_that_does_not_load_is_one_line_and_records_nothing(tiny_run: Path, tmp_path: Path) -> None:
    """A damaged checkpoint stops the resume in one line that says so (not "resume it on the
    backend already in use"), and run.json is left as it was."""
    out = tmp_path / "damaged"
    shutil.copytree(tiny_run, out)
    (out / "checkpoints" / "last.keras").write_bytes(b"not a keras file")
    before = (out / "run.json").read_text()
    result = fer_edge("train", "--out", out, "--resume", "--epochs", 9, check=False)
    assert_one_line_error(result, "last.keras: cannot load this restart point", "saved on tensorflow, the backend in use, so the file is damaged")
    assert (out / "run.json").read_text() == before


@pytest.mark.slow
def test_eval_on_the_validation_split_rebuilds_the_runs_own(tiny_run: Path, fer2013_dir: Path, tmp_path: Path) -> None:
    run = json.loads((tiny_run / "run.json").read_text())
    fer_edge("eval", tiny_run / "model.keras", "--data", fer2013_dir, "--split", "val", "--json", tmp_path / "val.json")
    report = json.loads((tmp_path / "val.json").read_text())
    assert report["n"] == run["data"]["val_images"]
    # The best epoch was picked on this very split: the same faces give the same accuracy
    # (up to the bfloat16 arithmetic the run validated with).
    assert report["accuracy"] == pytest.approx(run["best_monitor"]["val_accuracy"], abs=0.01)


@pytest.mark.slow
def test_eval_with_test_time_flip_scores_faces_and_mirrors(tiny_run: Path, test_split, tmp_path: Path) -> None:
    from fer_edge.evaluate import predict_probs

    faces = test_split.images[:64]
    plain = predict_probs(tiny_run / "model.keras", faces, test_time_flip=False)
    mirrored = predict_probs(tiny_run / "model.keras", faces[:, :, ::-1], test_time_flip=False)
    flipped = predict_probs(tiny_run / "model.keras", faces, test_time_flip=True)
    np.testing.assert_allclose(flipped, (plain + mirrored) / 2, atol=1e-5)


@pytest.mark.slow
def test_a_lost_run_continues_from_its_shipped_model(tiny_run: Path, fer2013_dir: Path, tmp_path: Path) -> None:
    """--restore-from rebuilds the run folder at the shipped weights' epoch, schedule included."""
    import keras

    from fer_edge.convert.ship import ship_keras
    from fer_edge.train.restore import restore_run

    shipped = tmp_path / "models" / "tiny.keras"
    ship_keras(tiny_run, shipped)
    run = json.loads((tiny_run / "run.json").read_text())
    best = run["best_epoch"]

    out = tmp_path / "restored"
    restore_run(shipped, out, epochs=10)
    restored = keras.models.load_model(out / "checkpoints" / "last.keras")
    original = keras.models.load_model(shipped)
    for got, want in zip(restored.get_weights(), original.get_weights()):
        np.testing.assert_array_equal(got, want)
    steps_per_epoch = run["data"]["train_images"] // run["config"]["recipe"]["batch_size"]
    assert int(restored.optimizer.iterations.numpy()) == best * steps_per_epoch
    assert json.loads((out / "checkpoints" / "state.json").read_text())["epoch"] == best
    assert len((out / "history.csv").read_text().strip().splitlines()) == 1 + best

    again = fer_edge("train", "--out", out, "--restore-from", shipped, "--epochs", 10, check=False)
    assert_one_line_error(again, "already holds a run", "--resume")

    continued = tmp_path / "continued"
    printed = fer_edge("train", "--out", continued, "--restore-from", shipped, "--epochs", 10).stdout
    assert f"resuming {continued} after epoch {best} of 10" in printed
    record = json.loads((continued / "run.json").read_text())
    assert record["restored_from"]["epoch"] == best and record["epochs_run"] == 10
    assert record["commands"][:-1] == run["commands"] and "--restore-from" in record["commands"][-1]
    epochs_logged = [int(line.split(",")[0]) for line in (continued / "history.csv").read_text().splitlines()[1:]]
    assert epochs_logged == list(range(10))


def test_restoring_needs_a_shipped_model_with_its_training_record(tmp_path: Path) -> None:
    bare = tmp_path / "bare.keras"
    bare.write_bytes(b"PK")
    result = fer_edge("train", "--out", tmp_path / "r", "--restore-from", bare, check=False)
    assert_one_line_error(result, "bare.json: sidecar not found", "run.json")
    no_out = fer_edge("train", "--restore-from", bare, check=False)
    assert_one_line_error(no_out, "--restore-from needs --out")
    both = fer_edge("train", "--out", tmp_path / "r", "--restore-from", bare, "--resume", check=False)
    assert_one_line_error(both, "--resume and --restore-from exclude each other")


@pytest.mark.slow
def test_a_run_can_start_from_a_shipped_models_weights(tiny_run: Path, fer2013_dir: Path, tmp_path: Path) -> None:
    from fer_edge.convert.ship import ship_keras

    shipped = tmp_path / "models" / "tiny.keras"
    ship_keras(tiny_run, shipped)
    base = json.loads((tiny_run / "run.json").read_text())
    common = ["train", "--arch", "tiny", "--data", fer2013_dir, "--limit-per-class", 1000, "--batch-size", 32]

    other_split = fer_edge(*common, "--init-from", shipped, "--seed", 4, "--out", tmp_path / "refused", check=False)
    assert_one_line_error(other_split, "--seed 3", "validation split")
    assert not (tmp_path / "refused").exists(), "a refused run leaves no folder behind"

    # A finished run's own model.keras works too (its record is the run.json beside it).
    out = tmp_path / "tuned"
    fer_edge(*common, "--init-from", tiny_run / "model.keras", "--seed", 3, "--out", out, "--epochs", 1, "--lr", 1e-4)
    run = json.loads((out / "run.json").read_text())
    assert run["init_from"]["epoch"] == base["best_epoch"] and run["init_from"]["training"]["commands"] == base["commands"]
    assert run["commands"][:-1] == base["commands"] and "--init-from" in run["commands"][-1]
    # One epoch at a small learning rate keeps what the weights knew: far above a fresh net's first epoch.
    first_val = float((out / "history.csv").read_text().splitlines()[1].split(",")[3])
    fresh_first_val = float((tiny_run / "history.csv").read_text().splitlines()[1].split(",")[3])
    assert first_val > fresh_first_val + 0.05 and first_val > base["best_monitor"]["val_accuracy"] - 0.03
