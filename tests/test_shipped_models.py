"""Accuracy-regression tests of every shipped model: ``models/**/*.tflite`` and ``models/**/*.keras``.

Each model is scored afresh on FER2013's test split and must reach what its sidecar records
(float noise aside), the int8 model must stay within the recorded tolerance of its float model,
and the sidecar must describe the file beside it. A better model updates its sidecar in the
same commit; a worse one fails here. No shipped model at all is a failure, not a pass.

``$FER_EDGE_MODELS`` points the tests at another models folder (the converter's tests use it).
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

import pytest

from clitools import REPO_ROOT

from fer_edge.contract import CLASS_NAMES, INPUT_SHAPE
from fer_edge.metrics import EvalReport
from fer_edge.sidecar import read_sidecar

MODELS_DIR = Path(os.environ.get("FER_EDGE_MODELS", REPO_ROOT / "models"))
#: What a fresh evaluation may differ from the recorded one by: float round-off (other CPU,
#: other kernels) flips at most a few of the 3,589 test faces. Anything more is a regression.
FLOAT_NOISE = 1e-3


def shipped_models() -> list[Path]:
    return sorted([*MODELS_DIR.glob("**/*.tflite"), *MODELS_DIR.glob("**/*.keras")])


def model_id(path: Path) -> str:
    return str(path.relative_to(MODELS_DIR))


MODELS = shipped_models()
TFLITE_MODELS = [p for p in MODELS if p.suffix == ".tflite"]


def test_models_are_shipped() -> None:
    assert MODELS, f"no shipped model under {MODELS_DIR} (expected models/edge/edge.keras and edge-int8.tflite)"


def test_the_default_edge_model_is_shipped_with_its_sidecars() -> None:
    edge = MODELS_DIR / "edge"
    for name in ("edge.keras", "edge.json", "edge-int8.tflite", "edge-int8.json"):
        assert (edge / name).is_file(), f"{edge / name} is missing: the default edge model ships as a pair with sidecars"


@lru_cache(maxsize=None)
def fresh_report(path: Path, data_root: Path, test_time_flip: bool) -> EvalReport:
    """The model scored on the test split now, with or without test-time flip (as its sidecar says)."""
    from fer_edge.dataset import load_split
    from fer_edge.evaluate import evaluate_predictions, load_keras_model

    test = load_split(data_root, "test")
    if path.suffix == ".tflite":
        from fer_edge.device.classifier import TFLiteClassifier

        probs = TFLiteClassifier(path, test_time_flip=test_time_flip).predict(test.images)
    else:
        from fer_edge.evaluate import keras_probs

        probs = keras_probs(load_keras_model(path), test.images, test_time_flip)
    return evaluate_predictions(probs, test, model=str(path))


def assert_tensor_matches(recorded: dict, actual: dict, where: str) -> None:
    assert recorded["shape"] == actual["shape"], f"{where} shape: sidecar {recorded['shape']}, model {actual['shape']}"
    assert recorded["dtype"] == actual["dtype"], f"{where} dtype: sidecar {recorded['dtype']}, model {actual['dtype']}"
    for key in ("scale", "zero_point"):
        if actual[key] is None:
            assert recorded.get(key) is None, f"{where} {key}: sidecar {recorded.get(key)}, model is not quantized"
        else:
            assert recorded.get(key) == pytest.approx(actual[key], rel=1e-6), f"{where} {key}: sidecar {recorded.get(key)}, model {actual[key]}"


@pytest.mark.parametrize("path", MODELS, ids=model_id)
def test_sidecar_matches_the_model(path: Path) -> None:
    card = read_sidecar(path)  # also checks schema, class names and the preprocessing contract
    assert tuple(card["class_names"]) == CLASS_NAMES
    assert card["model"] == path.name, f"sidecar describes {card['model']}, not {path.name}"
    assert card["size_bytes"] == path.stat().st_size, "sidecar size differs from the file: the model changed"
    if path.suffix == ".tflite":
        from fer_edge.convert.tensors import read_tensors

        assert card["format"] == "tflite"
        tensors = read_tensors(path)
        assert_tensor_matches(card["input"], tensors.input.to_dict(), "input")
        assert_tensor_matches(card["output"], tensors.output.to_dict(), "output")
        if card["quantization"] == "int8":
            assert tensors.integer_only, f"int8 model has float tensors or float input/output: {tensors.float_tensors[:5]}"
            assert "calibration" in card and card["calibration"]["images"] > 0
        else:
            assert tensors.input.dtype == "float32"
    else:
        from fer_edge.convert.tensors import keras_tensors
        from fer_edge.evaluate import load_keras_model

        assert card["format"] == "keras"
        model_input, model_output = keras_tensors(load_keras_model(path))
        assert_tensor_matches(card["input"], model_input.to_dict(), "input")
        assert_tensor_matches(card["output"], model_output.to_dict(), "output")
    assert tuple(card["input"]["shape"][1:]) == INPUT_SHAPE
    assert card["output"]["shape"][-1] == len(card["class_names"])
    assert card.get("commands"), "the sidecar must record the commands that made the model"


@pytest.mark.parametrize("path", MODELS, ids=model_id)
def test_accuracy_has_not_regressed(path: Path, fer2013_dir: Path) -> None:
    card = read_sidecar(path)
    recorded = card["metrics"]["test"]
    fresh = fresh_report(path, fer2013_dir, bool(card.get("test_time_flip", False)))
    assert fresh.n == recorded["n"], f"test split has {fresh.n} faces, sidecar was measured on {recorded['n']}"
    assert fresh.accuracy >= recorded["accuracy"] - FLOAT_NOISE, (
        f"accuracy {100 * fresh.accuracy:.2f}% < recorded {100 * recorded['accuracy']:.2f}%"
    )
    assert fresh.weighted_f1 >= recorded["weighted_f1"] - FLOAT_NOISE, (
        f"weighted F1 {100 * fresh.weighted_f1:.2f}% < recorded {100 * recorded['weighted_f1']:.2f}%"
    )


@pytest.mark.parametrize("path", TFLITE_MODELS, ids=model_id)
def test_tflite_stays_within_tolerance_of_its_float_model(path: Path, fer2013_dir: Path) -> None:
    card = read_sidecar(path)
    metrics, tolerance = card["metrics"], card["tolerance_points"]
    recorded_drop = 100 * (metrics["float_test"]["accuracy"] - metrics["test"]["accuracy"])
    assert metrics["drop_points"] == pytest.approx(recorded_drop, abs=1e-6)
    assert recorded_drop <= tolerance, f"recorded drop {recorded_drop:.2f} points exceeds its tolerance {tolerance}"
    flip = bool(card.get("test_time_flip", False))
    fresh = fresh_report(path, fer2013_dir, flip)
    drop = 100 * (metrics["float_test"]["accuracy"] - fresh.accuracy)
    assert drop <= tolerance + 100 * FLOAT_NOISE, f"{card['quantization']} accuracy is {drop:.2f} points below float (tolerance {tolerance})"
    # When the float model it came from ships beside it, score both afresh, the same way.
    source = path.parent / card["source"]["model"]
    if source.is_file() and hashlib.sha256(source.read_bytes()).hexdigest() == card["source"]["sha256"]:
        fresh_drop = 100 * (fresh_report(source, fer2013_dir, flip).accuracy - fresh.accuracy)
        assert fresh_drop <= tolerance + 100 * FLOAT_NOISE, (
            f"float {source.name} beats {path.name} by {fresh_drop:.2f} points now (tolerance {tolerance})"
        )
