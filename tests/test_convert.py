"""``fer-edge convert`` as a user runs it: a real tiny model, real calibration, real refusals.

One short training run (module fixture) feeds every slow test; bad-input tests need no model and
stop before TensorFlow loads.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from clitools import QUIET_TF, REPO_ROOT, assert_one_line_error, fer_edge

from fer_edge.contract import CLASS_NAMES, INPUT_SHAPE, PREPROCESSING
from fer_edge.sidecar import read_sidecar


def printed_accuracies(stdout: str, mode: str) -> tuple[float, float, float]:
    """Float accuracy, converted accuracy and drop as ``fer-edge convert`` prints them."""
    float_acc = float(re.search(r"^\s*float\s+([\d.]+)%", stdout, re.M).group(1))
    mode_acc = float(re.search(rf"^\s*{mode}\s+([\d.]+)%", stdout, re.M).group(1))
    drop = float(re.search(r"^drop ([+-][\d.]+) points", stdout, re.M).group(1))
    return float_acc, mode_acc, drop


# ------------------------------------------------------------------ bad input (fast, no TensorFlow)


def test_missing_model_is_one_line(fer2013_dir: Path, tmp_path: Path) -> None:
    result = fer_edge("convert", tmp_path / "nope.keras", "--data", fer2013_dir, "--out", tmp_path / "x.tflite", check=False)
    assert_one_line_error(result, "nope.keras", "not found")
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_is_no_model_is_one_line(fer2013_dir: Path, tmp_path: Path) -> None:
    fake = tmp_path / "notes.keras"
    fake.write_text("these are not weights\n")
    result = fer_edge("convert", fake, "--data", fer2013_dir, "--out", tmp_path / "x.tflite", check=False)
    assert_one_line_error(result, "notes.keras", "not a Keras model")
    csv = tmp_path / "history.csv"
    csv.write_text("epoch,loss\n")
    assert_one_line_error(fer_edge("convert", csv, "--data", fer2013_dir, check=False), "history.csv", ".keras")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.csv", "notes.keras"]


def test_wrong_out_suffix_and_two_modes_are_one_line(fer2013_dir: Path, tmp_path: Path) -> None:
    model = tmp_path / "model.keras"
    model.write_bytes(b"")
    assert_one_line_error(
        fer_edge("convert", model, "--data", fer2013_dir, "--out", tmp_path / "model.onnx", check=False), "--out", ".tflite"
    )
    assert_one_line_error(fer_edge("convert", model, "--int8", "--float16", "--data", fer2013_dir, check=False), "--int8", "--float16")
    assert_one_line_error(
        fer_edge("convert", model, "--data", fer2013_dir, "--out", tmp_path / "model.tflite", check=False), "sidecar", "model.json"
    )
    assert_one_line_error(fer_edge("convert", model, "--data", fer2013_dir, "--tolerance", "-1", check=False), "--tolerance")
    for option, name in (("--json", "report.json"), ("--confusion", "cm.png")):
        missing = tmp_path / "missing" / name
        result = fer_edge("convert", model, "--data", fer2013_dir, "--out", tmp_path / "m.tflite", option, missing, check=False)
        assert_one_line_error(result, option, "does not exist")
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]


def test_calibration_is_a_balanced_seeded_sample_fed_as_the_model_sees_it(train_split) -> None:
    from fer_edge.convert.quantize import calibration_sample, representative_dataset

    sample = calibration_sample(train_split, 350, seed=0)
    assert sample.split == "train" and sample.per_class == 50 and len(sample.images) == 350
    again = calibration_sample(train_split, 350, seed=0)
    assert np.array_equal(sample.images, again.images), "same seed, same faces"
    assert not np.array_equal(sample.images, calibration_sample(train_split, 350, seed=1).images)
    # Balanced: every class, disgust (the rarest, 436 faces) included, gives the same number.
    picked = {face.tobytes() for face in sample.images}
    labels = [int(label) for face, label in zip(train_split.images, train_split.labels) if face.tobytes() in picked]
    assert np.bincount(labels, minlength=len(CLASS_NAMES)).min() >= 50
    batches = [batch for (batch,) in representative_dataset(sample.images)()]
    fed = np.concatenate(batches)
    assert fed.dtype == np.float32 and fed.shape == (350, *INPUT_SHAPE)
    assert np.array_equal(fed[..., 0], sample.images.astype(np.float32)), "raw 0..255 pixels, scaled inside the model"
    assert calibration_sample(train_split, 10, seed=0).per_class == 2


# ------------------------------------------------------------------ a real tiny model (slow)


@pytest.fixture(scope="module")
def int8_conversion(tiny_run: Path, fer2013_dir: Path) -> tuple[Path, subprocess.CompletedProcess]:
    out = tiny_run / "tiny-int8.tflite"
    result = fer_edge(
        "convert", tiny_run / "model.keras", "--int8", "--data", fer2013_dir, "--out", out,
        "--confusion", tiny_run / "tiny-int8-confusion.png", "--json", tiny_run / "tiny-int8-report.json",
    )
    return out, result


@pytest.mark.slow
def test_int8_model_is_integer_from_input_to_output(int8_conversion) -> None:
    from fer_edge.convert.tensors import read_tensors

    out, _ = int8_conversion
    tensors = read_tensors(out)
    assert tensors.input.dtype == "int8" and tensors.output.dtype == "int8"
    assert tensors.float_tensors == (), f"float tensors inside the int8 model: {tensors.float_tensors}"
    assert "DEQUANTIZE" not in tensors.ops and "QUANTIZE" not in tensors.ops
    assert tensors.input.shape[1:] == INPUT_SHAPE and tensors.output.shape[-1] == len(CLASS_NAMES)
    # raw-pixels-v1: every pixel 0..255 is exactly one int8 value.
    assert tensors.input.scale == pytest.approx(1.0, abs=0.01) and tensors.input.zero_point == -128


@pytest.mark.slow
def test_sidecar_describes_the_model_it_sits_beside(int8_conversion, tiny_run: Path) -> None:
    from fer_edge.convert.tensors import read_tensors

    out, _ = int8_conversion
    card = read_sidecar(out)
    tensors = read_tensors(out)
    assert card["model"] == out.name and card["format"] == "tflite" and card["quantization"] == "int8"
    assert tuple(card["class_names"]) == CLASS_NAMES
    assert card["input"] == tensors.input.to_dict() and card["output"] == tensors.output.to_dict()
    assert card["preprocessing"] == PREPROCESSING and card["test_time_flip"] is False
    assert card["size_bytes"] == out.stat().st_size
    assert card["calibration"]["images"] == 350 and card["calibration"]["per_class"] == 50
    assert card["calibration"]["seed"] == 0 and card["calibration"]["split"] == "train"
    run = json.loads((tiny_run / "run.json").read_text())
    assert card["training"]["config"] == run["config"]
    assert card["commands"][:-1] == run["commands"]
    assert card["commands"][-1].startswith(f"fer-edge convert {tiny_run / 'model.keras'} --int8 --data ")
    assert card["source"]["model"] == "model.keras"
    assert (out.parent / card["files"]["confusion"]).is_file()
    report = json.loads((tiny_run / "tiny-int8-report.json").read_text())
    assert report["check"]["accepted"] is True and report["metrics"] == card["metrics"]


@pytest.mark.slow
def test_int8_stays_within_tolerance_and_the_cli_prints_both(int8_conversion, tiny_run: Path, test_split) -> None:
    from fer_edge.evaluate import evaluate

    out, result = int8_conversion
    card = read_sidecar(out)
    float_acc, int8_acc, drop = printed_accuracies(result.stdout, "int8")
    assert float_acc == pytest.approx(100 * card["metrics"]["float_test"]["accuracy"], abs=0.005)
    assert int8_acc == pytest.approx(100 * card["metrics"]["test"]["accuracy"], abs=0.005)
    assert drop == pytest.approx(card["metrics"]["drop_points"], abs=0.005) and drop <= 1.0
    # The float side is the model fer-edge train reported; the int8 side is what the runtime gets.
    trained = json.loads((tiny_run / "metrics.json").read_text())
    assert card["metrics"]["float_test"]["accuracy"] == pytest.approx(trained["accuracy"], abs=1e-3)
    assert card["metrics"]["test"]["accuracy"] > 0.30, "the tiny model should clearly beat chance (14%)"
    assert evaluate(out, test_split).accuracy == pytest.approx(card["metrics"]["test"]["accuracy"], abs=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["float16", "dynamic"])
def test_float16_and_dynamic_modes(mode: str, tiny_run: Path, fer2013_dir: Path) -> None:
    from fer_edge.convert.tensors import read_tensors

    out = tiny_run / f"tiny-{mode}.tflite"
    result = fer_edge("convert", tiny_run / "model.keras", f"--{mode}", "--data", fer2013_dir, "--out", out)
    _, _, drop = printed_accuracies(result.stdout, mode)
    card = read_sidecar(out)
    assert card["quantization"] == mode and "calibration" not in card
    assert card["input"]["dtype"] == "float32" and read_tensors(out).input.dtype == "float32"
    assert abs(drop) <= 0.2


def with_outlier_channel(model_path: Path, dest: Path, faces: np.ndarray, factor: float = 1000.0) -> None:
    """The same function as the model, but one channel of the first conv layer 1000x louder.

    ReLU commutes with a positive scale: multiply one output channel of conv 1 by ``factor`` and
    divide conv 2's weights for that input channel by it, and the float model is unchanged. An
    int8 activation tensor has one scale for all its channels, so the loud channel sets it and
    the others round to nothing: the classic outlier-channel failure of post-training
    quantization, here made on purpose.
    """
    import keras

    model = keras.models.load_model(model_path, compile=False)
    conv1, conv2 = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)][:2]
    probe = keras.Model(model.input, conv1.output)
    loudest = int(probe.predict(faces[..., None].astype(np.float32), verbose=0).max(axis=(0, 1, 2)).argmax())
    kernel, bias = conv1.get_weights()
    kernel[..., loudest] *= factor
    bias[loudest] *= factor
    conv1.set_weights([kernel, bias])
    kernel2, *rest = conv2.get_weights()
    kernel2[:, :, loudest, :] /= factor
    conv2.set_weights([kernel2, *rest])
    model.save(dest)


@pytest.mark.slow
def test_a_model_that_loses_too_much_is_refused_and_nothing_is_written(tiny_run: Path, fer2013_dir: Path, test_split, tmp_path: Path) -> None:
    import keras

    model = tmp_path / "outlier.keras"
    with_outlier_channel(tiny_run / "model.keras", model, test_split.images[:256])
    faces = test_split.images[:512, ..., None].astype(np.float32)
    original = keras.models.load_model(tiny_run / "model.keras", compile=False).predict(faces, verbose=0)
    assert np.allclose(keras.models.load_model(model, compile=False).predict(faces, verbose=0), original, atol=1e-4)

    out = tmp_path / "outlier-int8.tflite"
    result = fer_edge("convert", model, "--int8", "--data", fer2013_dir, "--out", out, "--confusion", tmp_path / "c.png", check=False)
    assert_one_line_error(result, "--tolerance 1", "nothing written")
    float_acc, int8_acc, drop = printed_accuracies(result.stdout, "int8")
    assert drop > 1.0 and "REFUSED" in result.stdout
    trained = json.loads((tiny_run / "metrics.json").read_text())
    assert float_acc == pytest.approx(100 * trained["accuracy"], abs=0.1), "the float model is unchanged"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outlier.keras"], "no model, sidecar, PNG or temp file left"


# ------------------------------------------------------------------ shipping, and the regression tests on it (slow)


@pytest.fixture(scope="module")
def shipped_layout(tiny_run: Path, fer2013_dir: Path, int8_conversion, tmp_path_factory) -> Path:
    """``models/edge/`` as it is shipped, made from the tiny run with the same two commands."""
    models = tmp_path_factory.mktemp("shipped") / "models"
    fer_edge("ship", tiny_run, models / "edge" / "edge.keras")
    fer_edge(
        "convert", models / "edge" / "edge.keras", "--int8", "--data", fer2013_dir,
        "--out", models / "edge" / "edge-int8.tflite", "--confusion", models / "edge" / "edge-int8-confusion.png",
    )
    return models


@pytest.mark.slow
def test_shipping_a_run_writes_the_float_sidecar(shipped_layout: Path, tiny_run: Path) -> None:
    edge = shipped_layout / "edge"
    card = read_sidecar(edge / "edge.keras")
    assert card["format"] == "keras" and card["quantization"] == "float32"
    assert card["input"]["shape"] == [None, *INPUT_SHAPE] and card["output"]["shape"] == [None, len(CLASS_NAMES)]
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    assert card["metrics"]["test"]["accuracy"] == metrics["accuracy"]
    assert card["commands"] == json.loads((tiny_run / "run.json").read_text())["commands"]
    for name in card["files"].values():
        assert (edge / name).is_file()
    int8 = read_sidecar(edge / "edge-int8.tflite")
    assert int8["commands"][:-1] == card["commands"], "the int8 sidecar carries the training commands over"
    assert int8["source"]["model"] == "edge.keras"


@pytest.mark.slow
def test_a_reference_run_ships_its_record_without_its_weights(tiny_run: Path, tmp_path: Path) -> None:
    from fer_edge.convert.ship import ship_keras
    from clitools import load_tool

    render = load_tool("results_table").render_summary

    models = tmp_path / "models"
    sidecar = ship_keras(tiny_run, models / "seed" / "seed.keras", with_weights=False)
    assert not (models / "seed" / "seed.keras").exists()
    card = json.loads(sidecar.read_text())
    assert card["source"]["weights_shipped"] is False
    assert card["size_bytes"] == (tiny_run / "model.keras").stat().st_size
    assert card["metrics"]["test"]["accuracy"] == json.loads((tiny_run / "metrics.json").read_text())["accuracy"]
    assert (models / "seed" / card["files"]["training_log"]).is_file()
    assert "`seed/seed.keras` (metrics only, weights not shipped)" in render(models)


def run_shipped_model_tests(models: Path, fer2013_dir: Path) -> subprocess.CompletedProcess:
    env = {**QUIET_TF, "FER_EDGE_MODELS": str(models), "FER2013_DIR": str(fer2013_dir)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(REPO_ROOT / "tests" / "test_shipped_models.py")],
        capture_output=True, text=True, env=env, cwd=REPO_ROOT,
    )


@pytest.mark.slow
def test_regression_tests_pass_on_honest_sidecars_and_catch_a_regression(shipped_layout: Path, fer2013_dir: Path) -> None:
    honest = run_shipped_model_tests(shipped_layout, fer2013_dir)
    assert honest.returncode == 0, honest.stdout[-3000:]

    # Claim 1 point more accuracy than the int8 model has: that is what a regression looks like.
    sidecar = shipped_layout / "edge" / "edge-int8.json"
    card = json.loads(sidecar.read_text())
    card["metrics"]["test"]["accuracy"] += 0.01
    sidecar.write_text(json.dumps(card))
    regressed = run_shipped_model_tests(shipped_layout, fer2013_dir)
    assert regressed.returncode != 0 and "accuracy" in regressed.stdout, regressed.stdout[-3000:]
    card["metrics"]["test"]["accuracy"] -= 0.01
    card["input"]["zero_point"] = 0
    sidecar.write_text(json.dumps(card))
    mismatched = run_shipped_model_tests(shipped_layout, fer2013_dir)
    assert mismatched.returncode != 0 and "zero_point" in mismatched.stdout, mismatched.stdout[-3000:]
