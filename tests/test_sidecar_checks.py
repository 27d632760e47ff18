"""A sidecar the runtime would misread is refused in one line, never trusted: wrong types, out of
range values, or a sidecar that belongs to another model."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest

from clitools import assert_one_line_error, fer_edge


def spoil(card: dict, change: str) -> None:
    if change == "preprocessing is text":
        card["preprocessing"] = "raw-pixels-v1"
    elif change == "margin is NaN":
        card["preprocessing"]["face_margin"] = float("nan")
    elif change == "margin is 1000":
        card["preprocessing"]["face_margin"] = 1000
    elif change == "flip is text":
        card["test_time_flip"] = "false"
    elif change == "another model's size":
        card["size_bytes"] += 1
    elif change == "another model's input":
        card["input"]["zero_point"] = 0
    elif change == "another model's hash":
        card["sha256"] = "0" * 64
    elif change == "another model's shape":
        card["input"]["shape"] = [None, 64, 64, 1]
    elif change == "output is a list":
        card["output"] = []
    elif change == "scale is text":
        card["input"]["scale"] = "x"


CHANGES = {
    "preprocessing is text": "preprocessing must be an object, not str",
    "margin is NaN": "face_margin nan must be a number from 0 to 0.5",
    "margin is 1000": "face_margin 1000 must be a number from 0 to 0.5",
    "flip is text": "test_time_flip 'false' must be true or false",
    "another model's size": "a sidecar from another model?",
    "another model's input": "a sidecar from another model?",
    "another model's hash": "its sha256 is not X.tflite's",
    "another model's shape": "describes an input of shape [None, 64, 64, 1]",
    "output is a list": "output [] is not a tensor record",
    "scale is text": "is not a tensor record",
}


@pytest.mark.parametrize("change", CHANGES)
def test_run_and_eval_refuse_a_sidecar_they_would_misread(edge_int8_model, fer2013_dir, tmp_path, change):
    model = tmp_path / "X.tflite"
    shutil.copy(edge_int8_model, model)
    card = json.loads(edge_int8_model.with_suffix(".json").read_text())
    spoil(card, change)
    model.with_suffix(".json").write_text(json.dumps(card))
    images = tmp_path / "images"
    images.mkdir()
    cv2.imwrite(str(images / "a.png"), np.full((48, 64, 3), 110, np.uint8))
    run = fer_edge("run", "--camera", images, "--model", model, "--no-display", check=False)
    assert_one_line_error(run, CHANGES[change])
    evaluated = fer_edge("eval", model, "--data", fer2013_dir, check=False)
    assert_one_line_error(evaluated, CHANGES[change])


def test_the_shipped_sidecar_passes_the_checks(edge_int8_model, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    cv2.imwrite(str(images / "a.png"), np.full((48, 64, 3), 110, np.uint8))
    done = fer_edge("run", "--camera", images, "--model", edge_int8_model, "--no-display", check=False)
    assert done.returncode == 0, done.stderr[-1000:]
