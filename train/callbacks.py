"""The Keras callbacks of a training run: an epoch's checkpoint, and dropout reseeded per epoch.

Both make a resumed run the same as an uninterrupted one: the checkpoint leaves a complete
restart point after every epoch, and the reseeding gives a resumed run the dropout masks the
uninterrupted run drew. The callback classes are defined inside the functions so importing this
module does not import Keras.
"""

from __future__ import annotations

import time

import numpy as np

from fer_edge.train.average import WeightAverage
from fer_edge.train.run_folder import BEST_WEIGHTS, RESTART_POINT, RunFolder


def reseed_each_epoch(seed: int):
    """A Keras callback that sets every random-number state of the model (dropout's) from the run's
    seed and the epoch when the epoch begins.

    A resumed run rebuilds its layers, whose seed generators then start from new seeds (they are
    not restored with the checkpoint), so its dropout masks would differ from the uninterrupted
    run's. Seeded by epoch, both runs draw the same masks and reach the same weights.
    """
    import keras

    class ReseedEachEpoch(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            states = [v for v in self.model.non_trainable_variables if v.path.endswith("seed_generator_state")]
            for k, variable in enumerate(states):
                start = int(np.random.default_rng([seed, epoch, k]).integers(1, 2**31 - 1))
                variable.assign(np.array([start, 0], dtype=variable.dtype))

    return ReseedEachEpoch()


def epoch_checkpoint(run: RunFolder, monitor: str, patience: int, state: dict, average: WeightAverage | None = None):
    """A Keras callback that saves the best weights, a full restart point, and stops early.

    With ``average`` (``--average-from``) it also adds each epoch's weights from the average's
    first epoch on to the running mean, saved before ``state.json`` names the epoch.

    ``state`` (epoch, best value and epoch, epochs without improvement, training seconds in all
    and per epoch) is the commit point: each epoch's restart point and best weights are written
    whole under names that carry the epoch, then ``state.json`` names the epoch, then they are
    moved into place (:meth:`RunFolder.commit_checkpoints`). A kill at any moment leaves either
    the old epoch's files and state, or the new state with its files pending, which the next
    ``--resume`` moves into place (:meth:`RunFolder.recover_checkpoints`).
    """
    import keras

    class EpochCheckpoint(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.maximize = "acc" in monitor
            self.epoch_started = time.time()

        def improved(self, value: float) -> bool:
            best = state.get("best_value")
            if best is None:
                return True
            return value > best if self.maximize else value < best

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch_started = time.time()

        def on_epoch_end(self, epoch, logs=None):
            try:
                self.save_epoch(epoch, logs)
            except (OSError, RuntimeError) as exc:  # h5py reports a full disk as a RuntimeError
                raise run.write_failed(exc) from None

        def save_epoch(self, epoch, logs):
            value = float((logs or {})[monitor])
            if self.improved(value):
                state.update(best_value=value, best_epoch=epoch + 1, wait=0)
                self.model.save_weights(run.pending(BEST_WEIGHTS, epoch + 1))
            else:
                state["wait"] = state.get("wait", 0) + 1
            state["epoch"] = epoch + 1
            seconds = time.time() - self.epoch_started
            state["train_seconds"] = state.get("train_seconds", 0.0) + seconds
            # Per epoch, so a short probe run tells how many epochs fit a time budget.
            state["epoch_seconds"] = [*state.get("epoch_seconds", []), round(seconds, 2)]
            if patience and state["wait"] >= patience:
                print(f"early stopping: {monitor} has not improved for {patience} epochs")
                state["stopped_early"] = True
                self.model.stop_training = True
            self.model.save(run.pending(RESTART_POINT, epoch + 1))
            if average is not None and average.wants(epoch + 1):
                average.add(self.model.get_weights())
                average.save(run.checkpoints, epoch + 1)
                state["averaged_epochs"] = average.count
            run.write_state(state)
            run.commit_checkpoints(state)
            if average is not None:
                WeightAverage.prune(run.checkpoints, epoch + 1)

    return EpochCheckpoint()
