"""The training input: shuffled, augmented batches that every Keras backend can fit on.

Training batches come from a ``keras.utils.PyDataset`` that draws its shuffle and augmentation
(train/augment.py) from seeds of the run, the epoch and the batch: batches are reproducible, the
same whichever backend trains (TensorFlow, JAX or PyTorch, picked by ``KERAS_BACKEND``), and a
resumed run continues the exact sequence it would have seen. Worker threads make the batches
ahead of the training step (OpenCV releases the GIL), so a GPU is not kept waiting.

With ``mixup`` (Zhang et al. 2018), each batch is blended with a shuffled copy of itself, faces
and targets alike, by one weight drawn from Beta(mixup, mixup): the net learns that a face
between two expressions has targets between them, a regulariser for a dataset whose labels
are often arguable. The blend follows the augmentation and draws from the same batch seed.

Where teachers label each view (``fer-edge train --distill-views augmented``, train/distill.py),
a batch's targets are relabelled last, on the faces exactly as the student gets them.

Validation is plain arrays, never augmented, scored against the true labels.
"""

from __future__ import annotations

import functools
import os
from typing import Callable

import numpy as np

from fer_edge.contract import NUM_CLASSES, Dataset, to_model_input
from fer_edge.train.augment import augment_batch, batch_rng, check_kind


def batch_order(count: int, seed: int, epoch: int) -> np.ndarray:
    """The order of the training faces in one epoch (a fresh permutation per epoch)."""
    return np.random.default_rng([seed, epoch, 2**31 - 1]).permutation(count)


def mix_batch(faces: np.ndarray, targets: np.ndarray, alpha: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Mixup: ``lam * batch + (1 - lam) * shuffled batch`` for faces and targets, lam ~ Beta(alpha, alpha)."""
    lam = float(rng.beta(alpha, alpha))
    partner = rng.permutation(len(faces))
    mixed_faces = lam * faces + (1.0 - lam) * faces[partner]
    mixed_targets = lam * targets + (1.0 - lam) * targets[partner]
    return mixed_faces.astype(np.float32), mixed_targets.astype(np.float32)


def default_workers() -> int:
    """Threads making batches: enough to feed a GPU, one fewer than the cores a CPU trains on."""
    return max(1, min(4, (os.cpu_count() or 1) - 1))


def training_batches(
    images: np.ndarray,
    targets: np.ndarray,
    *,
    batch_size: int,
    augment: str,
    seed: int,
    mixup: float = 0.0,
    first_epoch: int = 0,
    workers: int | None = None,
    label_views: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
):
    """An endless ``keras.utils.PyDataset`` of (float32 pixels (B, 48, 48, 1), targets (B, 7)) batches.

    ``images`` are uint8 faces (N, 48, 48). Batch ``i`` of the stream is batch ``i % S`` of epoch
    ``first_epoch + i // S`` (S = ``steps_per_epoch`` = N // batch_size: the last partial batch is
    dropped, as the learning-rate schedule counts), a pure function of its index: worker threads
    may make batches in any order, Keras may start the next epoch's batches early, and a run
    resumed at ``first_epoch`` draws the batches an uninterrupted run would have. (Keras's epoch
    callbacks on a PyDataset come once more than there are epochs, and the next epoch's batches
    can be fetched before the last one's ``on_epoch_end``: so no state is kept between batches.)

    ``label_views(faces, targets)``, where given, makes each batch's final targets from its
    finished faces (B, 48, 48, 1) and targets (the teachers of train/distill.py's view_labeller).

    Fit it with ``steps_per_epoch=batches.steps_per_epoch`` and ``shuffle=False``.
    """
    import keras

    check_kind(augment)
    if len(images) != len(targets):
        raise ValueError(f"{len(targets)} training targets for {len(images)} training images")
    steps = len(images) // batch_size
    if steps == 0:
        raise ValueError(f"batch size {batch_size} is larger than the {len(images)} training images")

    @functools.lru_cache(maxsize=4)
    def order_of(epoch: int) -> np.ndarray:
        return batch_order(len(images), seed, epoch)

    class TrainingBatches(keras.utils.PyDataset):
        steps_per_epoch = steps

        def __init__(self) -> None:
            super().__init__(workers=default_workers() if workers is None else workers, use_multiprocessing=False, max_queue_size=8)

        @property
        def num_batches(self) -> None:
            return None  # endless: fit's steps_per_epoch marks the epochs

        def __getitem__(self, index: int):
            epoch, batch = divmod(first_epoch * steps + index, steps)
            rows = np.sort(order_of(epoch)[batch * batch_size : (batch + 1) * batch_size])
            rng = batch_rng(seed, epoch, batch)
            faces, batch_targets = augment_batch(images[rows], augment, rng), targets[rows]
            if mixup > 0:
                faces, batch_targets = mix_batch(faces, batch_targets, mixup, rng)
            faces = faces[..., np.newaxis]
            if label_views is not None:
                batch_targets = label_views(faces, batch_targets)
            return faces, batch_targets

    return TrainingBatches()


def make_datasets(
    data: Dataset,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    *,
    batch_size: int,
    augment: str,
    seed: int,
    mixup: float = 0.0,
    first_epoch: int = 0,
    train_targets: np.ndarray | None = None,
    workers: int | None = None,
    label_views: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
):
    """The training batches and the validation arrays ``(x, y)`` of a run.

    Targets are one-hot labels, or for training ``train_targets`` (rows aligned with
    ``train_idx``: the distillation targets of train/distill.py), and relabelled per batch by
    ``label_views`` where given. Validation always scores against the true labels.
    """
    one_hot = np.eye(NUM_CLASSES, dtype=np.float32)
    y_train = one_hot[data.labels[train_idx]] if train_targets is None else np.asarray(train_targets, dtype=np.float32)
    train = training_batches(
        data.images[train_idx], y_train, batch_size=batch_size, augment=augment, seed=seed, mixup=mixup,
        first_epoch=first_epoch, workers=workers, label_views=label_views,
    )  # fmt: skip
    return train, (to_model_input(data.images[val_idx]), one_hot[data.labels[val_idx]])
