"""Stochastic weight averaging (``fer-edge train --average-from EPOCH``).

The best single epoch of a run is picked as the maximum of a noisy validation curve, and at a
learning rate still high enough to move, neighbouring epochs sit at different points of the same
valley. Averaging their weights (Izmailov et al., 2018, "Averaging Weights Leads to Wider Optima
and Better Generalization") lands nearer the valley's middle, which usually generalises better
than any one of them, at no cost on the device: the result is one network of the same size.

Two details make it work:
- The average survives a stopped run: each epoch writes ``checkpoints/average-epochNNN.npz``
  (the running mean and how many epochs it holds) before ``state.json`` names that epoch, so a
  ``--resume`` continues from the average that matches its restart point.
- Batch-norm statistics of averaged weights are not the average of each epoch's statistics: they
  are recomputed by one pass over the training faces (:func:`recompute_batch_norm`), as the
  method prescribes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from fer_edge.contract import to_model_input
from fer_edge.errors import FerEdgeError
from fer_edge.train.config import TrainConfig
from fer_edge.train.run_folder import RunFolder, temporary

#: Name of the file in checkpoints/ that holds the running mean after a given epoch.
AVERAGE_FILE = "average-epoch{epoch:03d}.npz"
#: The average of a run in progress, exported beside its run.json by ``python -m fer_edge.train.average``.
RUNNING_AVERAGE = "average.keras"


class WeightAverage:
    """The running mean of a model's weights over the epochs from ``start_epoch`` (1-based) on."""

    def __init__(self, start_epoch: int, mean: list[np.ndarray] | None = None, count: int = 0) -> None:
        self.start_epoch = start_epoch
        self.mean = mean
        self.count = count

    def wants(self, epoch: int) -> bool:
        """Whether the weights after ``epoch`` (1-based) join the average."""
        return epoch >= self.start_epoch

    def add(self, weights: list[np.ndarray]) -> None:
        weights = [np.asarray(w, dtype=np.float64) for w in weights]
        self.count += 1
        if self.mean is None:
            self.mean = weights
        else:
            self.mean = [m + (w - m) / self.count for m, w in zip(self.mean, weights)]

    def save(self, folder: Path, epoch: int) -> None:
        """Write the average after ``epoch`` atomically (a killed save leaves the previous one)."""
        tmp = folder / "average.tmp.npz"
        np.savez(tmp, count=np.int64(self.count), **{f"w{i}": w for i, w in enumerate(self.mean or [])})
        os.replace(tmp, folder / AVERAGE_FILE.format(epoch=epoch))

    @staticmethod
    def prune(folder: Path, keep_epoch: int) -> None:
        """Delete averages of other epochs once ``state.json`` names ``keep_epoch``."""
        keep = AVERAGE_FILE.format(epoch=keep_epoch)
        for path in folder.glob(AVERAGE_FILE.replace("{epoch:03d}", "*")):
            if path.name != keep:
                path.unlink()

    @classmethod
    def load(cls, folder: Path, start_epoch: int, epoch: int) -> "WeightAverage":
        """The average as it was after ``epoch`` (the restart point); empty before ``start_epoch``."""
        path = folder / AVERAGE_FILE.format(epoch=epoch)
        if not path.is_file():
            return cls(start_epoch)
        with np.load(path) as saved:
            count = int(saved["count"])
            mean = [saved[f"w{i}"] for i in range(len(saved.files) - 1)]
        return cls(start_epoch, mean, count)


def batch_norm_layers(layer) -> list:
    """Every BatchNormalization layer inside ``layer``, nested models included."""
    import keras

    found = []
    for child in getattr(layer, "layers", []):
        if isinstance(child, keras.layers.BatchNormalization):
            found.append(child)
        else:
            found.extend(batch_norm_layers(child))
    return found


def recompute_batch_norm(model, faces: np.ndarray, *, seed: int, batch_size: int = 512) -> int:
    """Set each batch-norm layer's moving statistics to their mean over ``faces``; returns batches used.

    A forward pass in training mode updates ``moving = momentum * moving + (1 - momentum) * batch``;
    with momentum ``k / (k + 1)`` on the k-th batch (from 0) that is the running mean of the batch
    statistics, the same for every batch rather than weighted towards the last ones. Dropout is
    active as when the statistics are gathered during training. The faces are shuffled (seeded)
    first: a batch of one class would understate the variance of all of them.
    """
    faces = faces[np.random.default_rng(seed).permutation(len(faces))]
    layers = batch_norm_layers(model)
    saved_momentum = [layer.momentum for layer in layers]
    batches = 0
    try:
        for start in range(0, len(faces), batch_size):
            for layer in layers:
                layer.momentum = batches / (batches + 1)
            model(to_model_input(faces[start : start + batch_size]), training=True)
            batches += 1
    finally:
        for layer, momentum in zip(layers, saved_momentum):
            layer.momentum = momentum
    return batches


def averaged_model(arch: str, average: WeightAverage, train_faces: np.ndarray, *, seed: int):
    """A float32 ``arch`` model holding the average, its batch-norm statistics recomputed on ``train_faces``."""
    import keras

    from fer_edge.train.architectures import get_architecture

    keras.mixed_precision.set_global_policy("float32")
    model = get_architecture(arch).build()
    model.set_weights([np.asarray(w, dtype=v.dtype) for w, v in zip(average.mean, model.weights)])
    recompute_batch_norm(model, train_faces, seed=seed)
    return model


def export_running_average(run: Path) -> Path:
    """Write ``RUN/average.keras``: the average of a run in progress, after its last checkpoint.

    So a long averaging run can be judged while it trains (``fer-edge eval RUN/average.keras
    --split val``; the run.json beside it names the validation split) and stopped with
    ``--resume --epochs N`` once the average stops gaining.
    """
    from fer_edge.dataset import load_split

    folder = RunFolder(run)
    try:
        config = TrainConfig.from_dict(json.loads(folder.run_record.read_text())["config"])
        epoch = int(json.loads(folder.state_file.read_text())["epoch"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FerEdgeError(f"{run}: not a fer-edge train run folder with a checkpoint ({exc})") from None
    average = WeightAverage.load(folder.checkpoints, config.recipe.average_from, epoch)
    if not config.recipe.average_from or not average.count:
        raise FerEdgeError(f"{run}: holds no weight average after epoch {epoch} (--average-from {config.recipe.average_from})")
    full = load_split(config.data, "train")
    train_idx, _ = config.split_indices(full.labels)
    model = averaged_model(config.arch, average, full.images[train_idx], seed=config.training_seed)
    path = run / RUNNING_AVERAGE
    tmp = temporary(path)
    model.save(tmp)
    os.replace(tmp, path)
    print(f"{path}: the mean of epochs {average.start_epoch}-{average.start_epoch + average.count - 1}")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m fer_edge.train.average", description=export_running_average.__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run folder of fer-edge train --average-from")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        export_running_average(args.run)
    except FerEdgeError as exc:  # one line, as the fer-edge command prints it
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()
