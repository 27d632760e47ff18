"""The CNN architectures ``fer-edge train --arch`` can build, each with its training recipe.

An architecture is a builder plus the recipe it is meant to be trained with: the reference
system's ``seed`` only reproduces its numbers with the reference's Adam 1e-4 and early stopping,
and the ``edge`` net only reaches its accuracy with its own schedule. Keeping them together means
``--arch NAME`` alone gives a sensible run, and every option can still override one value.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

from fer_edge.contract import INPUT_SHAPE, NUM_CLASSES
from fer_edge.errors import FerEdgeError


OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "cosine")
AUGMENTATIONS = ("none", "standard", "strong")
MONITORS = ("val_loss", "val_accuracy")
DISTILL_VIEWS = ("faces", "augmented")


@dataclass(frozen=True)
class Recipe:
    """How an architecture is trained; every field can be overridden from the command line."""

    epochs: int
    batch_size: int
    optimizer: str  # "adam", "adamw" or "sgd" (Nesterov momentum 0.9)
    learning_rate: float
    schedule: str  # "constant" or "cosine" (linear warm-up, then cosine decay to zero)
    warmup_epochs: int = 0
    weight_decay: float = 0.0
    label_smoothing: float = 0.0
    augment: str = "standard"  # "none", "standard" (flip, shift, rotate, zoom) or "strong" (+ erasing, contrast)
    monitor: str = "val_loss"  # what early stopping and the best checkpoint follow
    patience: int = 10  # epochs without improvement before stopping; 0 turns early stopping off
    distill_weight: float = 0.0  # share of the teachers' probabilities in the targets (with --teacher)
    distill_temperature: float = 1.0  # softens the teachers' probabilities (train/distill.py)
    distill_views: str = "faces"  # what the teachers label: each face once, or each augmented view (train/distill.py)
    mixup: float = 0.0  # Beta(a, a) of mixup's blend per batch (train/pipeline.py); 0 turns it off
    average_from: int = 0  # first epoch whose weights join the running average (train/average.py); 0 turns it off

    def validate(self) -> "Recipe":
        """This recipe, or a one-line error naming the option whose value cannot train.

        Checked before any data loads or any file is written, so a typo costs nothing.
        """
        choices = {"optimizer": OPTIMIZERS, "schedule": SCHEDULES, "augment": AUGMENTATIONS, "monitor": MONITORS, "distill_views": DISTILL_VIEWS}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise FerEdgeError(f"--{name.replace('_', '-')} {getattr(self, name)!r} is not one of {', '.join(allowed)}")
        for name, value, ok, rule in (
            ("epochs", self.epochs, self.epochs >= 1, "at least 1"),
            ("batch-size", self.batch_size, self.batch_size >= 1, "at least 1"),
            ("lr", self.learning_rate, self.learning_rate > 0, "above 0"),
            ("warmup-epochs", self.warmup_epochs, 0 <= self.warmup_epochs < max(self.epochs, 1), f"0 or more, and fewer than --epochs ({self.epochs}): raise --epochs or set --warmup-epochs 0"),
            ("weight-decay", self.weight_decay, self.weight_decay >= 0, "0 or more"),
            ("label-smoothing", self.label_smoothing, 0 <= self.label_smoothing < 1, "from 0 up to (not including) 1"),
            ("patience", self.patience, self.patience >= 0, "0 (off) or more"),
            ("distill-weight", self.distill_weight, 0 <= self.distill_weight <= 1, "between 0 and 1"),
            ("distill-temperature", self.distill_temperature, self.distill_temperature > 0, "above 0"),
            ("mixup", self.mixup, self.mixup >= 0, "0 (off) or more"),
            ("average-from", self.average_from, 0 <= self.average_from <= self.epochs, "0 (off) or an epoch from 1 to --epochs"),
        ):
            if not ok:
                raise FerEdgeError(f"--{name} {value}: must be {rule}")
        return self

    def overridden(self, **changes: object) -> "Recipe":
        """A copy with the given fields changed (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


@dataclass(frozen=True)
class Architecture:
    name: str
    description: str
    build: Callable[[], "object"]
    recipe: Recipe
    tags: tuple[str, ...] = field(default_factory=tuple)


def _conv_bn_relu(x, filters: int, kernel: int = 3):
    import keras

    x = keras.layers.Conv2D(filters, kernel, padding="same", use_bias=False)(x)
    x = keras.layers.BatchNormalization()(x)
    return keras.layers.ReLU()(x)


def _input_and_scaling():
    """Model input per the contract: raw 0..255 pixels, scaled inside the model."""
    import keras

    inputs = keras.Input(shape=INPUT_SHAPE, name="face")
    x = keras.layers.Rescaling(1.0 / 255.0, name="scale_pixels")(inputs)
    return inputs, x


def _classifier_head(x):
    import keras

    # float32 softmax keeps probabilities exact under the mixed_bfloat16 training policy.
    x = keras.layers.Dense(NUM_CLASSES, name="logits")(x)
    return keras.layers.Activation("softmax", dtype="float32", name="probs")(x)


def build_seed():
    """The reference system's CNN (about 4.48M parameters), reproduced layer for layer.

    Four conv blocks (64, 128 with 5x5 kernels, 512, 512) each with batch norm, max pooling and
    dropout 0.25, then dense 256 and 512 with batch norm and dropout, then softmax.
    """
    import keras

    inputs, x = _input_and_scaling()
    for filters, kernel in ((64, 3), (128, 5), (512, 3), (512, 3)):
        x = keras.layers.Conv2D(filters, kernel, padding="same")(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.ReLU()(x)
        x = keras.layers.MaxPooling2D(2)(x)
        x = keras.layers.Dropout(0.25)(x)
    x = keras.layers.Flatten()(x)
    for units in (256, 512):
        x = keras.layers.Dense(units)(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.ReLU()(x)
        x = keras.layers.Dropout(0.25)(x)
    return keras.Model(inputs, _classifier_head(x), name="seed")


def _vgg_stages(name: str, stages: tuple[tuple[int, int], ...]):
    """Stages of (filters, 3x3 convs) with batch norm and ReLU, 2x2 max pooling between them,
    global average pooling and one dense layer: the plan both ``edge`` and ``wide`` follow."""
    import keras

    inputs, x = _input_and_scaling()
    for stage, (filters, convs) in enumerate(stages):
        for _ in range(convs):
            x = _conv_bn_relu(x, filters)
        if stage < len(stages) - 1:
            x = keras.layers.MaxPooling2D(2)(x)
            x = keras.layers.SpatialDropout2D(0.1)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.4)(x)
    return keras.Model(inputs, _classifier_head(x), name=name)


def build_edge():
    """The edge model (about 1.3M parameters, about 140M multiply-adds per face).

    A VGG-style stack of 3x3 conv + batch-norm + ReLU in four stages (32, 64, 128, 256 filters),
    global average pooling and one dense layer. Plain convolutions quantize to int8 with almost
    no loss (unlike depthwise ones), and parameters sit in the narrow deep stages so the int8
    file stays under 1.5 MB while the wide early stages stay cheap.
    """
    return _vgg_stages("edge", ((32, 2), (64, 2), (128, 3), (256, 2)))


def build_wide():
    """A teacher for the edge model (about 4.7M parameters, about 470M multiply-adds per face).

    The edge plan at twice its width (64, 128, 256, 512 filters, two convs each, as the VGG nets
    that lead FER2013's single-network results): too large for the Pi's 1.5 MB budget, meant to
    be distilled into the edge model (``fer-edge train --teacher``).
    """
    return _vgg_stages("wide", ((64, 2), (128, 2), (256, 2), (512, 2)))


def build_tiny():
    """A small (about 40k parameters) net that learns something in a minute: for tests and smoke runs.

    No batch norm: over the few hundred steps of a smoke run its moving statistics lag the
    fast-changing weights and inference-mode accuracy falls far below training accuracy.
    """
    import keras

    inputs, x = _input_and_scaling()
    for filters in (16, 32, 64):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dropout(0.3)(x)
    return keras.Model(inputs, _classifier_head(x), name="tiny")


#: The edge net's recipe, and the wide teacher's: the wide net needs all 120 epochs (a shorter run
#: underfits), and then overfits, so more width alone does not carry it much further
#: (docs/results.md).
EDGE_RECIPE = Recipe(
    epochs=120,
    batch_size=128,
    optimizer="sgd",
    learning_rate=0.05,
    schedule="cosine",
    warmup_epochs=3,
    weight_decay=5e-4,
    label_smoothing=0.1,
    augment="strong",
    monitor="val_accuracy",
    patience=0,
)

ARCHITECTURES: dict[str, Architecture] = {
    arch.name: arch
    for arch in (
        Architecture("edge", "default edge model: ~1.3M params, int8 under 1.5 MB", build_edge, EDGE_RECIPE),
        Architecture(
            "wide",
            "~4.7M params: a teacher to distil into edge (--teacher), too large to ship",
            build_wide,
            EDGE_RECIPE,
        ),
        Architecture(
            "seed",
            "the reference system's 4.5M-param CNN and recipe",
            build_seed,
            Recipe(
                epochs=65,
                batch_size=64,
                optimizer="adam",
                learning_rate=1e-4,
                schedule="constant",
                augment="standard",
                monitor="val_loss",
                patience=10,
            ),
        ),
        Architecture(
            "tiny",
            "about 40k params, for tests and smoke runs",
            build_tiny,
            Recipe(
                epochs=5,
                batch_size=64,
                optimizer="adam",
                learning_rate=1e-3,
                schedule="constant",
                augment="none",
                monitor="val_accuracy",
                patience=0,
            ),
        ),
    )
}


def get_architecture(name: str) -> Architecture:
    """Look an architecture up by ``--arch`` name, with a one-line error listing the choices."""
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise FerEdgeError(f"--arch {name!r} is unknown; choose one of {', '.join(ARCHITECTURES)}") from None
