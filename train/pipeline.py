"""tf.data input pipelines: the stratified validation split, batching and augmentation.

Augmentation runs on whole batches inside the tf.data graph (Keras preprocessing layers), so no
per-image Python code runs in the training hot path and the two CPU cores stay on the model.
"""

from __future__ import annotations

import numpy as np

from fer_edge.contract import NUM_CLASSES, Dataset, to_model_input


def augmentation_layers(kind: str, seed: int) -> list:
    """Batch-wise random transforms; geometric ones keep the face filling the frame as FER2013 does.

    The layers are float32 whatever the global (mixed) precision policy: they feed tf.data, not
    the model, and bfloat16 pixels would lose precision before the model's own input cast.
    """
    import keras

    if kind == "none":
        return []
    layers = [
        keras.layers.RandomFlip("horizontal", seed=seed, dtype="float32"),
        keras.layers.RandomTranslation(0.1, 0.1, fill_mode="reflect", seed=seed + 1, dtype="float32"),
        keras.layers.RandomRotation(10 / 360, fill_mode="reflect", seed=seed + 2, dtype="float32"),
        keras.layers.RandomZoom((-0.15, 0.15), fill_mode="reflect", seed=seed + 3, dtype="float32"),
    ]
    if kind == "strong":
        layers += [
            keras.layers.RandomContrast(0.2, seed=seed + 4, dtype="float32"),
            keras.layers.RandomBrightness(0.15, value_range=(0, 255), seed=seed + 5, dtype="float32"),
        ]
    elif kind != "standard":
        raise ValueError(f"unknown augmentation {kind!r}")
    return layers


def random_erasing(images, probability: float = 0.25, max_fraction: float = 0.4):
    """Blank one random rectangle per image (Zhong et al. 2020): teaches the net to use the whole face."""
    import tensorflow as tf

    batch = tf.shape(images)[0]
    size = tf.cast(tf.shape(images)[1], tf.float32)
    h = tf.cast(size * tf.random.uniform([batch], 0.1, max_fraction), tf.int32)
    w = tf.cast(size * tf.random.uniform([batch], 0.1, max_fraction), tf.int32)
    y0 = tf.cast(tf.random.uniform([batch], 0.0, 1.0) * tf.cast(tf.shape(images)[1] - h, tf.float32), tf.int32)
    x0 = tf.cast(tf.random.uniform([batch], 0.0, 1.0) * tf.cast(tf.shape(images)[2] - w, tf.float32), tf.int32)
    rows = tf.range(tf.shape(images)[1])[tf.newaxis, :, tf.newaxis]
    cols = tf.range(tf.shape(images)[2])[tf.newaxis, tf.newaxis, :]
    inside = (
        (rows >= y0[:, None, None]) & (rows < (y0 + h)[:, None, None])
        & (cols >= x0[:, None, None]) & (cols < (x0 + w)[:, None, None])
    )
    apply = tf.random.uniform([batch], 0.0, 1.0) < probability
    mask = inside & apply[:, None, None]
    fill = tf.random.uniform(tf.shape(images), 0.0, 255.0)
    return tf.where(mask[..., tf.newaxis], fill, images)


def make_datasets(
    data: Dataset,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    *,
    batch_size: int,
    augment: str,
    seed: int,
    train_targets: np.ndarray | None = None,
):
    """The training and validation ``tf.data.Dataset`` of (float pixels, targets).

    Targets are one-hot labels, or for training ``train_targets`` (rows aligned with
    ``train_idx``: the distillation targets of train/distill.py). Validation always scores
    against the true labels.
    """
    import tensorflow as tf

    x = to_model_input(data.images)
    y = np.eye(NUM_CLASSES, dtype=np.float32)[data.labels]
    y_train = y[train_idx] if train_targets is None else np.asarray(train_targets, dtype=np.float32)
    if len(y_train) != len(train_idx):
        raise ValueError(f"{len(y_train)} training targets for {len(train_idx)} training images")

    layers = augmentation_layers(augment, seed)

    def augment_batch(images, labels):
        for layer in layers:
            images = layer(images, training=True)
        if augment == "strong":
            images = random_erasing(images)
        return tf.clip_by_value(images, 0.0, 255.0), labels

    train_ds = (
        tf.data.Dataset.from_tensor_slices((x[train_idx], y_train))
        .shuffle(len(train_idx), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size, drop_remainder=True)
    )
    if layers:
        train_ds = train_ds.map(augment_batch, num_parallel_calls=tf.data.AUTOTUNE)
    train_ds = train_ds.prefetch(tf.data.AUTOTUNE)
    val_ds = (
        tf.data.Dataset.from_tensor_slices((x[val_idx], y[val_idx]))
        .batch(max(batch_size, 256))
        .prefetch(tf.data.AUTOTUNE)
    )
    return train_ds, val_ds
