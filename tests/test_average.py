"""Stochastic weight averaging (``fer-edge train --average-from``): the running mean, batch-norm
statistics, and a run that averages across a ``--resume``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from clitools import QUIET_TF, assert_one_line_error, fer_edge

from fer_edge.train.average import WeightAverage, recompute_batch_norm


def test_the_running_mean_is_the_mean_and_survives_a_restart(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    epochs = [[rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=5).astype(np.float32)] for _ in range(5)]
    average = WeightAverage(start_epoch=3)
    assert not average.wants(2) and average.wants(3)
    for epoch, weights in enumerate(epochs[:3], start=3):
        average.add(weights)
        average.save(tmp_path, epoch)
        WeightAverage.prune(tmp_path, epoch)
    assert [p.name for p in tmp_path.iterdir()] == ["average-epoch005.npz"], "only the restart point's average is kept"

    restarted = WeightAverage.load(tmp_path, start_epoch=3, epoch=5)
    for weights in epochs[3:]:
        restarted.add(weights)
    assert restarted.count == 5
    for got, layer in zip(restarted.mean, zip(*epochs)):
        np.testing.assert_allclose(got, np.mean(layer, axis=0), rtol=1e-6, atol=1e-7)
    assert WeightAverage.load(tmp_path, start_epoch=3, epoch=2).count == 0, "no average before its first epoch"


def test_batch_norm_statistics_become_their_mean_over_the_faces(train_split) -> None:
    import keras

    inputs = keras.Input((48, 48, 1))
    norm = keras.layers.BatchNormalization(momentum=0.99)
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(norm(inputs)))
    faces = train_split.images[:1024]
    batches = recompute_batch_norm(model, faces, seed=0, batch_size=256)

    assert batches == 4 and norm.momentum == 0.99, "the layer's own momentum is put back"
    order = np.random.default_rng(0).permutation(len(faces))
    pixels = faces[order].astype(np.float64).reshape(4, -1)
    mean = keras.ops.convert_to_numpy(norm.moving_mean)[0]
    variance = keras.ops.convert_to_numpy(norm.moving_variance)[0]
    # Four equal batches: the mean of batch means is the mean of all faces; variances are per batch.
    assert mean == pytest.approx(pixels.mean(), rel=1e-4)
    assert variance == pytest.approx(pixels.var(axis=1).mean(), rel=1e-3)


def test_the_averaged_edge_model_holds_the_mean_weights_and_fresh_batch_norm_statistics(train_split) -> None:
    import keras

    from fer_edge.train.architectures import get_architecture
    from fer_edge.train.average import averaged_model

    weights = [keras.ops.convert_to_numpy(w) for w in get_architecture("edge").build().weights]
    average = WeightAverage(start_epoch=1, mean=weights, count=1)
    model = averaged_model("edge", average, train_split.images[:512], seed=0)
    for variable, mean in zip(model.weights, average.mean):
        got = keras.ops.convert_to_numpy(variable)
        if variable.path.endswith(("moving_mean", "moving_variance")):
            assert not np.allclose(got, mean), f"{variable.path}: recomputed on the faces, not kept from the average"
        else:
            np.testing.assert_array_equal(got, mean, err_msg=variable.path)
    assert model.dtype_policy.name == "float32"


@pytest.mark.slow
def test_a_run_averages_its_epochs_across_a_resume_and_exports_the_average(fer2013_dir: Path, tmp_path: Path) -> None:
    import keras

    out = tmp_path / "averaged"
    common = ["--data", fer2013_dir, "--out", out]
    fer_edge("train", "--arch", "tiny", *common, "--limit-per-class", 200, "--batch-size", 32, "--seed", 3,
             "--schedule", "constant", "--lr", 0.01, "--epochs", 2, "--average-from", 1)  # fmt: skip
    checkpoints = out / "checkpoints"
    before = WeightAverage.load(checkpoints, start_epoch=1, epoch=2)
    assert before.count == 2

    fer_edge("train", "--out", out, "--resume", "--epochs", 3)
    assert sorted(p.name for p in checkpoints.glob("average-*")) == ["average-epoch003.npz"]
    after = WeightAverage.load(checkpoints, start_epoch=1, epoch=3)
    third = keras.models.load_model(checkpoints / "last.keras").get_weights()
    assert after.count == 3 and json.loads((checkpoints / "state.json").read_text())["averaged_epochs"] == 3
    for got, mean, last in zip(after.mean, before.mean, third):
        np.testing.assert_allclose(got, (2 * mean + last) / 3, rtol=1e-5, atol=1e-6)

    run = json.loads((out / "run.json").read_text())
    record = run["weight_average"]
    assert record["epochs"] == [1, 3] and "training faces" in record["batch_norm"]
    for scored in ("average", "best_epoch"):
        assert set(record["validation"][scored]) == {"val_loss", "val_accuracy", "val_accuracy_with_flip"}
    # model.keras is the average: compare a kernel (batch-norm statistics were recomputed).
    exported = keras.models.load_model(out / "model.keras")
    kernel = next(i for i, w in enumerate(exported.weights) if w.path.endswith("kernel"))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(exported.weights[kernel]), after.mean[kernel], rtol=1e-5, atol=1e-6)
    # The best single epoch, scored beside it, is kept, and is another network.
    best = keras.models.load_model(out / "model.keras")
    best.load_weights(checkpoints / "best.weights.h5")
    assert not np.allclose(keras.ops.convert_to_numpy(best.weights[kernel]), after.mean[kernel])
    flipped = fer_edge("eval", out / "model.keras", "--data", fer2013_dir, "--split", "val", "--test-time-flip", "--json", "-").stdout
    assert json.loads(flipped)["accuracy"] == pytest.approx(record["validation"]["average"]["val_accuracy_with_flip"], abs=1e-3)

    # A run's average so far can be exported to judge it while it trains.
    subprocess.run([sys.executable, "-m", "fer_edge.train.average", out], check=True, capture_output=True, env=QUIET_TF)
    running = keras.models.load_model(out / "average.keras")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(running.weights[kernel]), after.mean[kernel], rtol=1e-5, atol=1e-6)
    elsewhere = subprocess.run([sys.executable, "-m", "fer_edge.train.average", tmp_path], capture_output=True, text=True, env=QUIET_TF)
    assert_one_line_error(elsewhere, str(tmp_path), "not a fer-edge train run folder")

    # An average is no single epoch's restart point: --restore-from refuses it, with one line.
    refused = fer_edge("train", "--restore-from", out / "model.keras", "--out", tmp_path / "restored", "--epochs", 5, check=False)
    assert_one_line_error(refused, "average of epochs 1-3", "--init-from")
    assert not (tmp_path / "restored").exists()


def test_the_results_table_says_when_a_model_is_an_average_and_what_it_started_from() -> None:
    from clitools import load_tool

    training_summary = load_tool("results_table").training_summary

    training = {"epochs_run": 40, "best_epoch": 12, "config": {"recipe": {"epochs": 40}}}
    assert training_summary({"training": training}).startswith("40 of 40 epochs, best 12")
    averaged = {**training, "weight_average": {"epochs": [1, 40]}}
    assert training_summary({"training": averaged}).startswith("40 of 40 epochs, weights averaged over 1-40")
    first_run = {"schedule_epochs": 240, "train_seconds": 422.0, "versions": {"keras_backend": "jax", "gpus": "1"}}
    further = {**averaged, "train_seconds": 3600.0, "versions": {"keras_backend": "tensorflow"}, "init_from": {"epoch": 180, "training": first_run}}
    assert training_summary({"training": further}) == "40 of 40 epochs, weights averaged over 1-40, 1.0 h CPU, from epoch 180 of a 240-epoch run (7 min GPU)"
