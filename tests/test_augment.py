"""Training augmentation and batches (train/augment.py, train/pipeline.py), on real FER2013 faces."""

from __future__ import annotations

import numpy as np
import pytest

from fer_edge.contract import Dataset
from fer_edge.train.augment import augment_batch, batch_rng, erase_rectangles


def test_a_batch_is_a_function_of_its_seed(test_split: Dataset) -> None:
    faces = test_split.images[:64]
    first = augment_batch(faces, "strong", batch_rng(0, 3, 7))
    np.testing.assert_array_equal(first, augment_batch(faces, "strong", batch_rng(0, 3, 7)))
    assert not np.array_equal(first, augment_batch(faces, "strong", batch_rng(0, 3, 8)))
    assert not np.array_equal(first, augment_batch(faces, "strong", batch_rng(1, 3, 7)))
    assert first.dtype == np.float32 and first.shape == faces.shape
    assert first.min() >= 0.0 and first.max() <= 255.0


def test_no_augmentation_passes_faces_through(test_split: Dataset) -> None:
    faces = test_split.images[:16]
    np.testing.assert_array_equal(augment_batch(faces, "none", batch_rng(0, 0, 0)), faces.astype(np.float32))
    with pytest.raises(ValueError, match="unknown augmentation"):
        augment_batch(faces, "heavy", batch_rng(0, 0, 0))


def test_warps_move_a_point_a_little_and_mirror_about_half_the_faces() -> None:
    """A bright spot left of centre lands near where it was, or near its mirror position, in
    every warped image (shift up to 4.8 px on each axis, 6.8 px diagonally; rotation and zoom up
    to 3.3 px more at its 13.7 px from the centre), and the mirror comes up about half the time:
    the face still fills the frame as in FER2013."""
    images = np.zeros((1000, 48, 48), dtype=np.uint8)
    images[:, 15:18, 11:14] = 255  # centred on row 16, column 12
    warped = augment_batch(images, "standard", batch_rng(5, 0, 0))
    rows, cols = np.indices((48, 48))
    mirrored = 0
    for out in warped:
        weight = out.sum()
        assert weight > 0, "the spot stays in the frame"
        row, col = (out * rows).sum() / weight, (out * cols).sum() / weight
        straight, flipped = np.hypot(row - 16, col - 12), np.hypot(row - 16, col - 35)
        assert min(straight, flipped) < 10.5, (row, col)
        mirrored += flipped < straight
    assert 0.45 < mirrored / len(images) < 0.55, mirrored


def test_erasing_blanks_one_rectangle_in_about_a_quarter_of_the_faces() -> None:
    images = np.full((4000, 48, 48), -1.0, dtype=np.float32)
    erase_rectangles(images, np.random.default_rng(0))
    touched = (images != -1.0).any(axis=(1, 2))
    assert 0.22 < touched.mean() < 0.28, touched.mean()
    for image in images[touched][:200]:
        rows, cols = np.nonzero(image != -1.0)
        height, width = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
        assert 4 <= height <= 20 and 4 <= width <= 20, (height, width)
        assert (image[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1] != -1.0).mean() > 0.99


def make_batches(data: Dataset, count: int, **kwargs):
    from fer_edge.train.pipeline import training_batches

    targets = np.eye(7, dtype=np.float32)[data.labels[:count]]
    return training_batches(data.images[:count], targets, batch_size=50, augment="strong", seed=11, **kwargs)


def epoch_of(batches, epoch: int) -> list[tuple[np.ndarray, np.ndarray]]:
    steps = batches.steps_per_epoch
    return [batches[epoch * steps + i] for i in range(steps)]


def test_each_epoch_shows_every_face_once_in_a_new_order(test_split: Dataset) -> None:
    batches = make_batches(test_split, 520, workers=1)
    assert batches.steps_per_epoch == 10 and batches.num_batches is None  # endless; fit cuts epochs
    first = epoch_of(batches, 0)
    x, y = first[0]
    assert x.shape == (50, 48, 48, 1) and x.dtype == np.float32 and y.shape == (50, 7)
    seen = np.concatenate([y.argmax(axis=1) for _, y in first])
    assert len(seen) == 500  # the last 20 faces wait for another epoch's draw
    second = epoch_of(batches, 1)
    assert not np.array_equal(first[0][1], second[0][1]), "the second epoch is reshuffled"
    # Over epochs every face comes up: the labels seen match the faces' labels class by class.
    seen = np.concatenate([y.argmax(axis=1) for epoch in range(4) for _, y in epoch_of(batches, epoch)])
    expected = np.bincount(test_split.labels[:520], minlength=7) * len(seen) / 520
    assert np.abs(np.bincount(seen, minlength=7) - expected).max() <= 20


def test_a_batch_depends_only_on_its_place_in_the_stream(test_split: Dataset) -> None:
    """A run resumed at epoch 2 draws epoch 2's order and augmentation, as an uninterrupted run
    does; whatever order threads make batches in, or how often Keras calls the epoch hooks."""
    uninterrupted = make_batches(test_split, 300, workers=1)
    resumed = make_batches(test_split, 300, first_epoch=2, workers=3)
    steps = uninterrupted.steps_per_epoch
    for i in reversed(range(2 * steps)):  # asked for out of order, and across an epoch boundary
        xa, ya = uninterrupted[2 * steps + i]
        xb, yb = resumed[i]
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    uninterrupted.on_epoch_end()
    np.testing.assert_array_equal(uninterrupted[0][0], make_batches(test_split, 300)[0][0])


def test_mixup_blends_faces_and_targets_by_the_same_weight(test_split: Dataset) -> None:
    """Each mixed face is ``lam * face + (1 - lam) * partner`` and its target the same blend of
    the two one-hot labels: where the two labels differ, the face's own label keeps weight lam."""
    from fer_edge.train.pipeline import mix_batch

    rows = np.linspace(0, len(test_split.labels) - 1, 128).astype(int)  # all classes (the split is sorted by class)
    faces = augment_batch(test_split.images[rows], "strong", batch_rng(0, 0, 0))
    labels = test_split.labels[rows]
    targets = np.eye(7, dtype=np.float32)[labels]
    mixed_faces, mixed_targets = mix_batch(faces, targets, 0.4, np.random.default_rng(3))
    assert mixed_faces.dtype == np.float32 and mixed_faces.shape == faces.shape
    assert mixed_faces.min() >= 0.0 and mixed_faces.max() <= 255.0
    np.testing.assert_allclose(mixed_targets.sum(axis=1), 1.0, atol=1e-6)

    rng = np.random.default_rng(3)  # the draws mix_batch makes
    lam, partner = float(rng.beta(0.4, 0.4)), rng.permutation(128)
    assert 0.02 < lam < 0.98, "this seed blends visibly"
    differ = labels != labels[partner]
    assert differ.sum() > 64
    np.testing.assert_allclose(mixed_targets[np.arange(128), labels][differ], lam, atol=1e-6)
    np.testing.assert_allclose(mixed_faces, lam * faces + (1 - lam) * faces[partner], atol=1e-3)


def test_mixup_batches_stay_a_function_of_their_place(test_split: Dataset) -> None:
    from fer_edge.train.pipeline import training_batches

    rows = np.linspace(0, len(test_split.labels) - 1, 300).astype(int)
    targets = np.eye(7, dtype=np.float32)[test_split.labels[rows]]

    def batches(**kwargs):
        return training_batches(test_split.images[rows], targets, batch_size=50, augment="strong", seed=11, **kwargs)

    plain, mixed, again = batches(workers=1), batches(mixup=0.2, workers=1), batches(mixup=0.2, workers=2)
    for i in (0, 5, 13):
        np.testing.assert_array_equal(mixed[i][0], again[i][0])
        np.testing.assert_array_equal(mixed[i][1], again[i][1])
        assert not np.array_equal(mixed[i][1], plain[i][1]), "mixup changes the targets"
        np.testing.assert_allclose(mixed[i][1].sum(axis=1), 1.0, atol=1e-6)
