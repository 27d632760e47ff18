"""Distillation (``fer-edge train --teacher``): the targets a student trains on, and the run's record."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from clitools import REPO_ROOT, assert_one_line_error, fer_edge

from fer_edge.contract import Dataset
from fer_edge.errors import FerEdgeError


def test_temperature_spreads_probabilities_and_keeps_their_order() -> None:
    from fer_edge.train.distill import soften

    probs = np.array([[0.7, 0.2, 0.05, 0.05, 0.0, 0.0, 0.0], [0.1, 0.1, 0.1, 0.4, 0.1, 0.1, 0.1]], dtype=np.float32)
    np.testing.assert_allclose(soften(probs, 1.0), probs, atol=1e-6)
    warm = soften(probs, 3.0)
    np.testing.assert_allclose(warm.sum(axis=1), 1.0, atol=1e-6)
    assert (warm.argmax(axis=1) == probs.argmax(axis=1)).all()
    assert warm[0, 0] < probs[0, 0] and warm[0, 2] > probs[0, 2], "a higher temperature moves mass to the unlikely classes"


def test_targets_mix_labels_and_teacher_by_the_weight() -> None:
    from fer_edge.train.distill import mix_targets

    labels = np.array([3, 0])
    teacher = np.full((2, 7), 1 / 7, dtype=np.float32)
    np.testing.assert_allclose(mix_targets(labels, teacher, 0.0), np.eye(7)[labels])
    mixed = mix_targets(labels, teacher, 0.25)
    np.testing.assert_allclose(mixed.sum(axis=1), 1.0, atol=1e-6)
    assert mixed[0, 3] == pytest.approx(0.75 + 0.25 / 7) and mixed[0, 0] == pytest.approx(0.25 / 7)


def test_teachers_without_a_weight_give_half_the_targets_and_no_teachers_none(tmp_path: Path) -> None:
    """The Python API and the CLI share the run defaults: a run with teachers is distilled even when
    no --distill-weight is named, and the weight named wins; without teachers nothing is distilled."""
    from fer_edge.train.config import new_run_config
    from fer_edge.train.distill import check_distillation

    with_teacher = new_run_config(arch="edge", data=tmp_path, teachers=[tmp_path / "wide.keras"])
    assert with_teacher.recipe.distill_weight == 0.5 and with_teacher.teachers == [str(tmp_path / "wide.keras")]
    assert new_run_config(arch="edge", data=tmp_path, teachers=[tmp_path / "wide.keras"], distill_weight=0.8).recipe.distill_weight == 0.8
    plain = new_run_config(arch="edge", data=tmp_path)
    assert plain.recipe.distill_weight == 0.0 and check_distillation(plain) == []
    with pytest.raises(FerEdgeError, match="--distill-weight 0.3 needs at least one --teacher"):
        check_distillation(new_run_config(arch="edge", data=tmp_path, distill_weight=0.3))


def test_an_init_seed_changes_the_training_draws_and_not_the_validation_split(tmp_path: Path, train_split: Dataset) -> None:
    """Teachers of one ensemble differ in --init-seed and hold out the faces of --seed; a run
    recorded before the option existed trains from its --seed as it did."""
    from fer_edge.train.config import TrainConfig, new_run_config
    from fer_edge.train.restore import check_same_split

    teacher = new_run_config(arch="wide", data=tmp_path, seed=3, init_seed=5)
    student = new_run_config(arch="edge", data=tmp_path, seed=3)
    assert (teacher.training_seed, student.training_seed) == (5, 3)
    for ours, theirs in zip(teacher.split_indices(train_split.labels), student.split_indices(train_split.labels)):
        np.testing.assert_array_equal(ours, theirs)
    check_same_split(tmp_path / "wide.keras", teacher.to_dict(), student)  # accepted: the same split
    other_split = new_run_config(arch="wide", data=tmp_path, seed=5)
    assert not np.array_equal(other_split.split_indices(train_split.labels)[1], student.split_indices(train_split.labels)[1])
    old_record = {k: v for k, v in student.to_dict().items() if k != "init_seed"}
    assert TrainConfig.from_dict(old_record).training_seed == 3


def test_the_training_pipeline_feeds_the_given_targets(test_split: Dataset) -> None:
    """Each training face arrives with its own target row, whatever the shuffle; validation keeps the labels."""
    from fer_edge.train.pipeline import make_datasets

    # FER2013 holds some duplicate faces; take distinct ones, so a face names its target row.
    _, distinct = np.unique(test_split.images.reshape(len(test_split), -1), axis=0, return_index=True)
    distinct = np.sort(distinct)
    train_idx, val_idx = distinct[:200], distinct[200:260]
    rng = np.random.default_rng(0)
    targets = rng.dirichlet(np.ones(7), size=len(train_idx)).astype(np.float32)
    batches, (val_x, val_y) = make_datasets(test_split, train_idx, val_idx, batch_size=50, augment="none", seed=0, train_targets=targets)
    by_face = {test_split.images[i].tobytes(): targets[row] for row, i in enumerate(train_idx)}
    seen = set()
    for index in range(batches.steps_per_epoch):
        images, ys = batches[index]
        for image, y in zip(images.astype(np.uint8)[..., 0], ys):
            np.testing.assert_allclose(y, by_face[image.tobytes()], atol=1e-6)
            seen.add(image.tobytes())
    assert len(seen) == len(train_idx)
    np.testing.assert_array_equal(val_y.argmax(axis=1), test_split.labels[val_idx])
    np.testing.assert_array_equal(val_x[..., 0].astype(np.uint8), test_split.images[val_idx])


@pytest.mark.slow
def test_distillation_options_are_checked_before_a_folder_is_made(tiny_run: Path, fer2013_dir: Path, tmp_path: Path) -> None:
    common = ["train", "--arch", "tiny", "--data", fer2013_dir, "--limit-per-class", 1000, "--batch-size", 32]
    other_split = fer_edge(*common, "--teacher", tiny_run / "model.keras", "--seed", 4, "--out", tmp_path / "a", check=False)
    assert_one_line_error(other_split, "--seed 3", "validation split")
    no_teacher = fer_edge(*common, "--distill-weight", 0.5, "--seed", 3, "--out", tmp_path / "b", check=False)
    assert_one_line_error(no_teacher, "--distill-weight 0.5 needs at least one --teacher")
    too_much = fer_edge(*common, "--teacher", tiny_run / "model.keras", "--distill-weight", 1.5, "--seed", 3, "--out", tmp_path / "c", check=False)
    assert_one_line_error(too_much, "--distill-weight 1.5", "between 0 and 1")
    views_alone = fer_edge(*common, "--distill-views", "augmented", "--seed", 3, "--out", tmp_path / "e", check=False)
    assert_one_line_error(views_alone, "--distill-views augmented needs at least one --teacher")
    # A teacher whose record is fine but whose weights do not load fails only once the data is read.
    broken = tmp_path / "broken"
    broken.mkdir()
    shutil.copyfile(tiny_run / "run.json", broken / "run.json")
    (broken / "model.keras").write_bytes(b"not a keras archive")
    unloadable = fer_edge(*common, "--teacher", broken / "model.keras", "--seed", 3, "--out", tmp_path / "d", check=False)
    assert_one_line_error(unloadable, "model.keras", "not a Keras model")
    assert not any((tmp_path / name).exists() for name in "abcde"), "a refused run leaves no folder behind"


@pytest.mark.slow
def test_a_student_trains_on_its_teachers_probabilities(tiny_run: Path, fer2013_dir: Path, train_split: Dataset, tmp_path: Path) -> None:
    from fer_edge.evaluate import predict_probs
    from fer_edge.splits import training_indices
    from fer_edge.train.distill import TARGETS_FILE

    teacher = tiny_run / "model.keras"
    out = tmp_path / "student"
    # --init-seed gives the student its own initialisation on the teacher's split (--seed 3).
    fer_edge("train", "--arch", "tiny", "--data", fer2013_dir, "--limit-per-class", 1000, "--batch-size", 32, "--seed", 3,
             "--init-seed", 5, "--epochs", 1, "--teacher", teacher, "--distill-weight", 0.7, "--distill-temperature", 2,
             "--out", out)  # fmt: skip
    run = json.loads((out / "run.json").read_text())
    assert (run["config"]["seed"], run["config"]["init_seed"]) == (3, 5)
    record = run["distillation"]
    assert record["weight"] == 0.7 and record["temperature"] == 2.0
    assert record["teachers"][0]["sha256"] and record["teachers"][0]["commands"] == json.loads((tiny_run / "run.json").read_text())["commands"]

    train_idx, val_idx = training_indices(train_split.labels, val_fraction=0.1, seed=3, limit_per_class=1000)
    val_probs = predict_probs(teacher, train_split.images[val_idx], test_time_flip=True)
    assert record["teacher_val_accuracy"] == pytest.approx((val_probs.argmax(1) == train_split.labels[val_idx]).mean(), abs=1e-4)

    with np.load(out / "checkpoints" / TARGETS_FILE) as saved:
        soft = saved["targets"]
    assert soft.shape == (len(train_idx), 7)
    some = np.arange(0, len(train_idx), 97)
    probs = predict_probs(teacher, train_split.images[train_idx][some], test_time_flip=True)
    warm = np.exp(np.log(np.clip(probs, 1e-12, None)) / 2)
    np.testing.assert_allclose(soft[some], warm / warm.sum(1, keepdims=True), atol=2e-3)

    # --resume reads the cached targets and goes on with the same teacher.
    fer_edge("train", "--out", out, "--resume", "--epochs", 2)
    assert json.loads((out / "run.json").read_text())["epochs_run"] == 2


def test_batches_can_be_relabelled_from_their_finished_faces(test_split: Dataset) -> None:
    """``label_views`` sees each batch's faces as the model gets them (after mixup) and its targets."""
    from fer_edge.train.pipeline import training_batches

    seen = []

    def label_views(faces: np.ndarray, targets: np.ndarray) -> np.ndarray:
        seen.append((faces.copy(), targets.copy()))
        return np.full_like(targets, 1 / 7)

    images, one_hot = test_split.images[:256], np.eye(7, dtype=np.float32)[test_split.labels[:256]]
    settings = dict(batch_size=64, augment="strong", seed=5, mixup=0.2, workers=1)
    plain = training_batches(images, one_hot, **settings)
    relabelled = training_batches(images, one_hot, **settings, label_views=label_views)
    for index in range(3):
        faces, targets = relabelled[index]
        plain_faces, plain_targets = plain[index]
        np.testing.assert_array_equal(faces, plain_faces)
        np.testing.assert_array_equal(seen[-1][0], plain_faces)
        np.testing.assert_array_equal(seen[-1][1], plain_targets)
        np.testing.assert_allclose(targets, 1 / 7)


@pytest.mark.slow
def test_teachers_label_each_augmented_view_as_trained_on(tiny_run: Path, fer2013_dir: Path, test_split: Dataset, tmp_path: Path) -> None:
    """--distill-views augmented: the targets are the teacher's softened probabilities on the very
    view, mixed with its labels; the run trains, records it and resumes."""
    from fer_edge.evaluate import load_keras_model
    from fer_edge.train.distill import TARGETS_FILE, soften, view_labeller
    from fer_edge.train.restore import model_identity

    teacher = tiny_run / "model.keras"
    label = view_labeller([model_identity(teacher)], weight=0.6, temperature=2.0, precision="float32")
    faces = test_split.images[:40, :, :, np.newaxis].astype(np.float32)
    flipped = faces[:, :, ::-1]
    one_hot = np.eye(7, dtype=np.float32)[test_split.labels[:40]]
    probs = np.asarray(load_keras_model(teacher).predict(faces, verbose=0))
    np.testing.assert_allclose(label(faces, one_hot), 0.4 * one_hot + 0.6 * soften(probs, 2.0), atol=1e-4)
    assert not np.allclose(label(flipped, one_hot), label(faces, one_hot), atol=1e-3), "a mirrored view gets its own label"

    out = tmp_path / "student"
    fer_edge("train", "--arch", "tiny", "--data", fer2013_dir, "--limit-per-class", 1000, "--batch-size", 32, "--seed", 3,
             "--epochs", 1, "--teacher", teacher, "--distill-views", "augmented", "--out", out)  # fmt: skip
    record = json.loads((out / "run.json").read_text())["distillation"]
    assert record["views"] == "augmented" and "augmented" in record["targets"]
    assert not (out / "checkpoints" / TARGETS_FILE).exists(), "no per-face targets are made or cached"
    fer_edge("train", "--out", out, "--resume", "--epochs", 2)
    assert json.loads((out / "run.json").read_text())["epochs_run"] == 2


def test_a_teacher_computes_at_the_runs_precision_with_its_own_weights(test_split: Dataset) -> None:
    """The shipped edge model rebuilt to compute in bfloat16 (as teachers label views in a
    mixed-precision run) keeps its weights and float32 output: its probabilities stay close.

    bfloat16 keeps 8 bits of mantissa, so a confident model's large logits move by a few
    hundredths and a probability near 0.5 with them. Measured on these 300 faces: the model
    before the 240-epoch one differed by 0.0009 on average and 0.015 at most; the 240-epoch
    model, more confident, by 0.0012 and 0.022, its top class unchanged on 99.3% of faces. Targets mixed 80/20 with the labels shift less than that."""
    from fer_edge.evaluate import keras_probs, load_keras_model
    from fer_edge.train.distill import computing_at

    model = load_keras_model(REPO_ROOT / "models" / "edge" / "edge.keras")
    rebuilt = computing_at(model, "mixed_bfloat16")
    assert {layer.dtype_policy.name for layer in rebuilt.layers[1:-1]} == {"mixed_bfloat16"}
    assert rebuilt.layers[-1].dtype_policy.name == "float32" and rebuilt.output.dtype == "float32"
    assert computing_at(model, "float32") is model
    faces = test_split.images[:300]
    exact, fast = keras_probs(model, faces), keras_probs(rebuilt, faces)
    assert np.abs(exact - fast).mean() < 0.005
    assert np.abs(exact - fast).max() < 0.05
    assert (exact.argmax(axis=1) == fast.argmax(axis=1)).mean() >= 0.98


def test_the_results_table_says_what_a_model_was_distilled_from() -> None:
    from clitools import load_tool

    training_summary = load_tool("results_table").training_summary

    training = {"config": {"recipe": {"epochs": 40}}, "epochs_run": 40, "best_epoch": 37,
                "distillation": {"teachers": [{"arch": "wide"}, {"arch": "edge"}]}}  # fmt: skip
    assert training_summary({"training": training}) == "40 of 40 epochs, best 37, distilled from wide + edge"
    training["distillation"]["views"] = "augmented"
    assert training_summary({"training": training}).endswith("distilled from wide + edge on each augmented view")
