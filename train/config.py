"""What defines a training run: ``TrainConfig``, the defaults of every run setting, and its split.

One home for the settings, as ultralytics merges its settings through one ``get_cfg``: the CLI
reads its defaults and help from here, ``new_run_config`` fills in what a caller leaves out, and
the config is saved in run.json so ``--resume`` cannot drift from it. The recipe (how an
architecture is trained) stays with the architectures; this module adds the run around it.
Light on purpose (no Keras): ``fer-edge eval --split val`` rebuilds a run's split with it.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from fer_edge.errors import FerEdgeError
from fer_edge.splits import training_indices
from fer_edge.train.architectures import Recipe, get_architecture
from fer_edge.train.backend import PRECISIONS, STRATEGIES, check_option

#: The architecture a run trains when none is named: the shipped edge model's.
DEFAULT_ARCH = "edge"
#: Seed of the validation split, and of initialisation and augmentation unless ``init_seed`` is set.
DEFAULT_SEED = 0
#: Share of train/ held out (stratified) to choose the best epoch on.
DEFAULT_VAL_FRACTION = 0.1
#: Training precision: bfloat16 where the CPU or GPU has it (train/backend.py).
DEFAULT_PRECISION = "auto"
#: tf.distribute strategy: mirrored on several GPUs (train/backend.py).
DEFAULT_STRATEGY = "auto"
#: Share of the teachers' probabilities in the targets when a run has teachers and names none.
DISTILL_WEIGHT_WITH_TEACHERS = 0.5

#: The recipe fields every architecture shares a default for (distillation, mixup, averaging).
RECIPE_DEFAULTS: dict[str, object] = {f.name: f.default for f in fields(Recipe) if f.default is not MISSING}
DEFAULT_DISTILL_TEMPERATURE = RECIPE_DEFAULTS["distill_temperature"]
DEFAULT_DISTILL_VIEWS = RECIPE_DEFAULTS["distill_views"]
DEFAULT_AVERAGE_FROM = RECIPE_DEFAULTS["average_from"]


def default_out(arch: str) -> Path:
    """Where a run of ``arch`` is written when no folder is named."""
    return Path("runs") / arch


def current_command() -> str:
    """How this process was started, for Python API callers (the CLI records its own command)."""
    return "python " + shlex.join(sys.argv)


@dataclass
class TrainConfig:
    """Everything that defines a run; saved to run.json so ``--resume`` cannot drift from it."""

    arch: str
    recipe: Recipe
    data: str
    out: str
    seed: int = DEFAULT_SEED
    val_fraction: float = DEFAULT_VAL_FRACTION
    limit_per_class: int | None = None
    precision: str = DEFAULT_PRECISION
    strategy: str = DEFAULT_STRATEGY
    command: str = ""
    init_from: str | None = None  # a shipped .keras whose weights the run starts from (fine-tuning)
    teachers: list[str] = field(default_factory=list)  # models distilled into this one (train/distill.py)
    init_seed: int | None = None  # initialisation and augmentation seed when it differs from the split's

    @property
    def training_seed(self) -> int:
        """Seed of the initial weights, the batches, augmentation and dropout: ``init_seed``, or
        ``seed``. Runs that differ only in it hold out the same validation split, so they can be
        ensembled as teachers and compared on the same faces."""
        return self.seed if self.init_seed is None else self.init_seed

    def to_dict(self) -> dict:
        return asdict(self)

    def validate(self) -> "TrainConfig":
        """This config, or a one-line error for a value that cannot train (before anything loads)."""
        self.recipe.validate()
        if not 0 < self.val_fraction < 1:
            raise FerEdgeError(f"--val-fraction {self.val_fraction}: must be between 0 and 1 (0.1 holds out a tenth)")
        if self.limit_per_class is not None and self.limit_per_class < 1:
            raise FerEdgeError(f"--limit-per-class {self.limit_per_class}: must be at least 1")
        check_option("--precision", self.precision, PRECISIONS)
        check_option("--strategy", self.strategy, STRATEGIES)  # the backend is checked once it is known
        return self

    def split_indices(self, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Train and validation indices into train/ for this run (see :func:`split_indices`)."""
        return split_indices(labels, self)

    @classmethod
    def from_dict(cls, raw: dict) -> "TrainConfig":
        raw = dict(raw)
        raw["recipe"] = Recipe(**raw["recipe"])
        return cls(**raw)


def split_indices(labels: np.ndarray, settings: TrainConfig | Mapping[str, object]) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation indices into train/ for a run's settings: a ``TrainConfig``, or the
    config a run.json or sidecar records (missing values take the defaults).

    The one place a run's split is made, so training, resuming, restoring, averaging,
    distillation and ``fer-edge eval --split val`` all hold out the same faces.
    """
    if isinstance(settings, Mapping):
        seed = int(settings.get("seed", DEFAULT_SEED))
        val_fraction = float(settings.get("val_fraction", DEFAULT_VAL_FRACTION))
        limit_per_class = settings.get("limit_per_class")
    else:
        seed, val_fraction, limit_per_class = settings.seed, settings.val_fraction, settings.limit_per_class
    return training_indices(labels, val_fraction=val_fraction, seed=seed, limit_per_class=limit_per_class)


def new_run_config(
    *,
    arch: str | None = None,
    data: str | Path,
    out: str | Path | None = None,
    seed: int | None = None,
    init_seed: int | None = None,
    val_fraction: float | None = None,
    limit_per_class: int | None = None,
    precision: str | None = None,
    strategy: str | None = None,
    command: str = "",
    init_from: str | Path | None = None,
    teachers: list[str | Path] | None = None,
    **recipe_changes: object,
) -> TrainConfig:
    """A new run's config: ``arch``'s recipe with ``recipe_changes``, and the defaults above for
    every setting given as ``None``.

    With teachers and no ``distill_weight``, the teachers' share is :data:`DISTILL_WEIGHT_WITH_TEACHERS`
    (the recipe's own 0 means no distillation).
    """
    arch = arch or DEFAULT_ARCH
    teachers = [str(path) for path in teachers or []]
    if teachers and recipe_changes.get("distill_weight") is None:
        recipe_changes["distill_weight"] = DISTILL_WEIGHT_WITH_TEACHERS
    return TrainConfig(
        arch=arch,
        recipe=get_architecture(arch).recipe.overridden(**recipe_changes),
        data=str(data),
        out=str(out if out is not None else default_out(arch)),
        seed=DEFAULT_SEED if seed is None else seed,
        init_seed=init_seed,
        val_fraction=DEFAULT_VAL_FRACTION if val_fraction is None else val_fraction,
        limit_per_class=limit_per_class,
        precision=precision or DEFAULT_PRECISION,
        strategy=strategy or DEFAULT_STRATEGY,
        command=command,
        init_from=str(init_from) if init_from else None,
        teachers=teachers,
    )
