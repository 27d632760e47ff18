"""Which training images a run trains on and which it holds out: seeded, stratified, reproducible.

Training, conversion (calibration sample) and evaluation (``--split val``) all carve ``train/``
the same way from the same seed, so a model's validation split can be rebuilt exactly from its
sidecar and settings can be chosen on it, never on ``test/``. A run's settings pick the split
through ``fer_edge.train.config.split_indices``. NumPy only.
"""

from __future__ import annotations

import numpy as np

from fer_edge.contract import NUM_CLASSES


def stratified_split(labels: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a seeded split that keeps each class's share in both parts.

    The validation part is what epochs and settings are chosen on, so ``test/`` is never seen
    until the final report.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    rng = np.random.default_rng(seed)
    train_idx: list[np.ndarray] = []
    val_idx: list[np.ndarray] = []
    for label in range(NUM_CLASSES):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_val = int(round(len(members) * val_fraction))
        val_idx.append(members[:n_val])
        train_idx.append(members[n_val:])
    return np.sort(np.concatenate(train_idx)), np.sort(np.concatenate(val_idx))


def subset_per_class(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Seeded indices of at most ``per_class`` images of each class (quick runs, calibration)."""
    rng = np.random.default_rng(seed)
    picked = [
        rng.permutation(np.flatnonzero(labels == label))[:per_class] for label in range(NUM_CLASSES)
    ]
    return np.sort(np.concatenate(picked))


def training_indices(labels: np.ndarray, *, val_fraction: float, seed: int, limit_per_class: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation indices into ``train/`` exactly as ``fer-edge train`` carves them."""
    indices = np.arange(len(labels))
    if limit_per_class:
        indices = subset_per_class(labels, limit_per_class, seed)
    train_idx, val_idx = stratified_split(labels[indices], val_fraction, seed)
    return indices[train_idx], indices[val_idx]

