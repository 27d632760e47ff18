"""The layout of a ``fer-edge train`` output folder, named once, and its restart point.

A run folder holds:
  run.json                  architecture, recipe, seed, data, split sizes, commands, versions, times
  checkpoints/last.keras    the restart point: the last epoch's model with its optimizer state
  checkpoints/best.weights.h5   the best epoch's weights
  checkpoints/state.json    the commit point: which epoch the two files above hold, early stopping
  history.csv               one row per epoch, the training log
  model.keras               the exported float32 model (best epoch, or the weight average)
  metrics.json, confusion.png   its report on the test split, where the data has one
  curves.png                loss and accuracy, training vs validation
The weight average (train/average.py) and the teachers' targets (train/distill.py) also keep
their files in checkpoints/, under names those modules own.

Each epoch writes its restart point and best weights whole under names that carry the epoch,
then state.json names the epoch, then they move into place; a kill at any moment leaves either
the old epoch or the new one complete (:meth:`RunFolder.recover_checkpoints`). Light on purpose
(no Keras), so reading a model's run.json costs nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

from fer_edge.errors import FerEdgeError, first_line
from fer_edge.files import write_json
from fer_edge.train.config import TrainConfig

RUN_RECORD = "run.json"
CHECKPOINTS = "checkpoints"
STATE = "state.json"
#: A run's restart point and best weights in checkpoints/.
RESTART_POINT = "last.keras"
BEST_WEIGHTS = "best.weights.h5"
HISTORY = "history.csv"
MODEL = "model.keras"
METRICS = "metrics.json"
CURVES = "curves.png"
CONFUSION = "confusion.png"
#: run.json's record of the epochs the learning-rate schedule was built for.
SCHEDULE_EPOCHS = "schedule_epochs"


def pending_name(final: str, epoch: int) -> str:
    """``last.keras`` -> ``last.pending-epoch0007.keras``: the file as written, before it is committed."""
    stem, _, suffix = final.partition(".")
    return f"{stem}.pending-epoch{epoch:04d}.{suffix}"


def temporary(path: Path) -> Path:
    """``model.keras`` -> ``model.tmp.keras``: where a file is written whole before it is renamed into place."""
    stem, _, suffix = path.name.partition(".")
    return path.with_name(f"{stem}.tmp.{suffix}")


def run_record_beside(model_path: str | os.PathLike[str]) -> Path:
    """The run.json a run's exported model sits beside (it may not exist)."""
    return Path(model_path).parent / RUN_RECORD


class RunFolder:
    """One run's output folder: where each of its files is, and how a run opens and resumes it."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    @property
    def run_record(self) -> Path:
        return self.path / RUN_RECORD

    @property
    def checkpoints(self) -> Path:
        return self.path / CHECKPOINTS

    @property
    def state_file(self) -> Path:
        return self.checkpoints / STATE

    @property
    def restart_point(self) -> Path:
        return self.checkpoints / RESTART_POINT

    @property
    def best_weights(self) -> Path:
        return self.checkpoints / BEST_WEIGHTS

    @property
    def history(self) -> Path:
        return self.path / HISTORY

    @property
    def model(self) -> Path:
        return self.path / MODEL

    @property
    def metrics(self) -> Path:
        return self.path / METRICS

    @property
    def curves(self) -> Path:
        return self.path / CURVES

    @property
    def confusion(self) -> Path:
        return self.path / CONFUSION

    def pending(self, final: str, epoch: int) -> Path:
        """Where ``final`` (:data:`RESTART_POINT` or :data:`BEST_WEIGHTS`) of ``epoch`` waits to be committed."""
        return self.checkpoints / pending_name(final, epoch)

    def holds_run(self) -> bool:
        """Whether a run has written its first epoch here (committed or pending)."""
        return self.restart_point.exists() or self.state_file.exists() or any(self.checkpoints.glob("*.pending-epoch*"))

    # --- records ---------------------------------------------------------------------------

    def read_run_record(self) -> dict:
        """run.json, or one line on why it cannot be read (a hand edit, a cut write)."""
        try:
            run = json.loads(self.run_record.read_text())
        except (OSError, ValueError) as exc:
            raise FerEdgeError(f"{self.run_record}: not a readable run record ({first_line(exc)}); restore it, or start a new run with another --out") from None
        if not isinstance(run, dict):
            raise FerEdgeError(f"{self.run_record}: not a run record (a JSON object was expected); restore it, or start a new run with another --out")
        return run

    def write_run_record(self, run: dict) -> None:
        write_json(self.run_record, run)

    def saved_config(self) -> TrainConfig:
        """The settings run.json records, or one line on what is wrong with them."""
        run = self.read_run_record()
        try:
            return TrainConfig.from_dict(run["config"])
        except (KeyError, TypeError, ValueError) as exc:
            raise FerEdgeError(f"{self.run_record}: its config is incomplete or malformed ({first_line(exc)}); restore it, or start a new run") from None

    def read_state(self) -> dict:
        """checkpoints/state.json (empty before the first epoch ends), or one line on why it cannot be read."""
        try:
            state = json.loads(self.state_file.read_text()) if self.state_file.is_file() else {}
            int(state.get("epoch", 0))
            int(state.get("best_epoch", 0) or 0)
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            raise FerEdgeError(f"{self.state_file}: not a readable restart record ({first_line(exc)}); restore it, or start a new run") from None
        return state

    def write_state(self, state: dict) -> None:
        """Name the epoch whose files are pending: the commit point of an epoch."""
        write_json(self.state_file, state)

    # --- the restart point ------------------------------------------------------------------

    def commit_checkpoints(self, state: dict) -> None:
        """Move the files of the epoch ``state`` names into place (state.json is already written)."""
        for final, epoch in ((RESTART_POINT, state.get("epoch")), (BEST_WEIGHTS, state.get("best_epoch"))):
            pending = self.pending(final, int(epoch or 0))
            if pending.exists():
                os.replace(pending, self.checkpoints / final)

    def recover_checkpoints(self, state: dict) -> list[str]:
        """After a kill: commit the pending files of the epoch ``state`` names, and delete those of an
        epoch that never reached state.json; the names deleted."""
        self.commit_checkpoints(state)
        dropped = sorted(path.name for path in self.checkpoints.glob("*.pending-epoch*"))
        for name in dropped:
            (self.checkpoints / name).unlink()
        return dropped

    def drop_history_after(self, epochs_done: int) -> None:
        """Forget log rows of epochs the last checkpoint does not hold (killed while saving it)."""
        if not self.history.is_file():
            return
        lines = self.history.read_text().splitlines(keepends=True)
        kept = lines[:1] + [line for line in lines[1:] if line.strip() and int(line.split(",", 1)[0]) < epochs_done]
        if len(kept) != len(lines):
            self.history.write_text("".join(kept))

    # --- opening a run ----------------------------------------------------------------------

    def check_free(self) -> None:
        """Refuse a folder that already holds a run, or files that are not a run's: a new run must
        not write over them. A run that never finished its first epoch (only its run.json and
        logs) may be started again in its folder."""
        if self.path.exists() and not self.path.is_dir():
            raise FerEdgeError(f"--out {self.path}: is a file; give a folder for the run")
        blocking = next((parent for parent in self.path.parents if parent.exists() and not parent.is_dir()), None)
        if blocking is not None:
            raise FerEdgeError(f"--out {self.path}: {blocking} is a file, not a folder")
        if self.holds_run():
            raise FerEdgeError(f"{self.path}: already holds a run; add --resume to continue it, or choose another --out")
        if self.path.is_dir() and not self.run_record.is_file() and any(self.path.iterdir()):
            raise FerEdgeError(f"--out {self.path}: holds files that are not a run's; choose a new or empty folder")

    def resume(self, data_moved_to: str | None = None) -> tuple[TrainConfig, dict]:
        """Reopen a stopped run: its saved config (the saved run.json is authoritative, except for
        where the run and, with ``data_moved_to``, its data are now) and its state.json, with pending
        checkpoints recovered and log rows past the restart point dropped."""
        state = self.read_state()
        if self.checkpoints.is_dir():
            for name in self.recover_checkpoints(state):
                print(f"removed {CHECKPOINTS}/{name}: written by an epoch the run was stopped in")
        if not self.run_record.is_file() or not self.restart_point.is_file():
            raise FerEdgeError(f"{self.path}: nothing to resume (no {RUN_RECORD} and {CHECKPOINTS}/{RESTART_POINT}); drop --resume")
        # The run lives where it is now: a run folder may have been moved or copied.
        config = replace(self.saved_config(), out=str(self.path))
        if data_moved_to:
            config = replace(config, data=data_moved_to)
        self.drop_history_after(int(state.get("epoch", 0)))
        return config, state

    def write_failed(self, exc: Exception) -> FerEdgeError:
        """One line for a run's file that could not be written (a full disk): what, and how to go on."""
        if "No space left on device" in str(exc):
            return FerEdgeError(f"{self.path}: cannot write (No space left on device); the last whole epoch is kept: free space, then fer-edge train --out {self.path} --resume")
        reason = getattr(exc, "strerror", None) or first_line(exc)[:120]
        return FerEdgeError(f"{self.path}: cannot write the epoch's checkpoint ({reason}); the last whole epoch is kept: fix the cause, then fer-edge train --out {self.path} --resume")


def prepare_run(config: TrainConfig, resume: bool, data_moved_to: str | None = None) -> tuple[TrainConfig, dict]:
    """Check a new run's output folder is free (the folder itself is made once data and teachers
    have loaded), or reopen a stopped one (:meth:`RunFolder.resume`)."""
    folder = RunFolder(config.out)
    if resume:
        return folder.resume(data_moved_to)
    folder.check_free()
    return config, {}
