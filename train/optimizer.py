"""The optimizer, learning-rate schedule and loss a recipe trains with, attached to a model.

Fresh runs, restored runs (train/restore.py) and resumed runs compile through here, so the three
cannot differ in what they train with. Keras is imported inside the functions.
"""

from __future__ import annotations

from fer_edge.errors import FerEdgeError
from fer_edge.train.architectures import OPTIMIZERS, SCHEDULES, Recipe

#: What fit reports per epoch besides the loss (history.csv), for fresh and restored models alike.
TRAINING_METRICS = ["accuracy"]

#: Variables that weight decay leaves alone: decaying batch-norm scales and biases only fights
#: normalisation, so kernels alone are decayed.
NOT_DECAYED = ["gamma", "beta", "bias"]


def make_optimizer(recipe: Recipe, steps_per_epoch: int):
    """The recipe's optimizer with its schedule (cosine: linear warm-up, then decay to zero)."""
    import keras

    total = max(recipe.epochs * steps_per_epoch, 1)
    warmup = min(recipe.warmup_epochs * steps_per_epoch, total - 1)
    if recipe.schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=recipe.learning_rate * 0.1 if warmup else recipe.learning_rate,
            decay_steps=total - warmup,
            alpha=0.0,
            warmup_target=recipe.learning_rate if warmup else None,
            warmup_steps=warmup,
        )
    elif recipe.schedule == "constant":
        lr = recipe.learning_rate
    else:
        raise FerEdgeError(f"--schedule {recipe.schedule!r} is not one of {', '.join(SCHEDULES)}")
    if recipe.optimizer == "sgd":
        opt = keras.optimizers.SGD(lr, momentum=0.9, nesterov=True, weight_decay=recipe.weight_decay or None)
    elif recipe.optimizer == "adam":
        opt = keras.optimizers.Adam(lr, weight_decay=recipe.weight_decay or None)
    elif recipe.optimizer == "adamw":
        opt = keras.optimizers.AdamW(lr, weight_decay=recipe.weight_decay)
    else:
        raise FerEdgeError(f"--optimizer {recipe.optimizer!r} is not one of {', '.join(OPTIMIZERS)}")
    if recipe.weight_decay:
        exclude_norms_from_decay(opt)
    return opt


def exclude_norms_from_decay(optimizer) -> None:
    """Keep weight decay off batch-norm scales and biases (a restored optimizer forgets this)."""
    optimizer.exclude_from_weight_decay(var_names=NOT_DECAYED)


def compile_for_training(model, recipe: Recipe, steps_per_epoch: int) -> None:
    """Attach the recipe's optimizer, schedule and loss (label smoothing) to a freshly built model."""
    import keras

    model.compile(
        optimizer=make_optimizer(recipe, steps_per_epoch),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing),
        metrics=TRAINING_METRICS,
    )
