"""The end of a run: export model.keras, report it on the test split, and say what was written.

model.keras is the best epoch's weights (with ``--average-from``: the weight average), saved
float32 whatever precision the run trained at, so conversion and evaluation see one kind of model.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_edge.contract import CSV_USAGE_FOR_SPLIT, Dataset, to_model_input
from fer_edge.dataset import MissingSplit, load_split
from fer_edge.evaluate import evaluate_predictions
from fer_edge.files import write_json
from fer_edge.metrics import EvalReport
from fer_edge.train.architectures import get_architecture
from fer_edge.train.average import WeightAverage
from fer_edge.train.config import TrainConfig
from fer_edge.train.run_folder import CHECKPOINTS, CONFUSION, METRICS, RunFolder, temporary
from fer_edge.train.validation_scores import score_average


@dataclass
class TrainResult:
    """What a finished run made: its folder, epochs, best epoch, and the test report."""

    out: Path
    epochs_run: int
    best_epoch: int
    best_value: float
    report: EvalReport | None  # None where the data has no test split
    test_split: str = "test"

    def written(self) -> list[str]:
        """The main files in the run folder, in the order a reader looks for them."""
        folder = RunFolder(self.out)
        files = [folder.model, folder.run_record, folder.history, folder.curves, folder.metrics, folder.confusion]
        return [path.name for path in files if path.is_file()] + ([f"{CHECKPOINTS}/"] if folder.checkpoints.is_dir() else [])

    def summary(self) -> str:
        """The folder written, with its main files, above the labelled test table."""
        lines = [f"wrote {self.out}/: {', '.join(self.written())}"]
        model = RunFolder(self.out).model
        if self.report is None:
            lines.append(f"no test split in the data: report it where there is one with fer-edge eval {model}")
        else:
            usage = CSV_USAGE_FOR_SPLIT.get(self.test_split, self.test_split)
            lines += ["", f"{self.test_split}/ ({usage}, {self.report.n} faces): {model.name}", self.report.table()]
        return "\n".join(lines)


def load_test_split(data: str) -> Dataset | None:
    """The test split the finished run is reported on, or ``None`` where the data has none.

    Data without it (a CSV of Training rows only) still trains; the report is then made where
    the test split is.
    """
    try:
        return load_split(data, "test")
    except MissingSplit as exc:
        print(f"note: {exc}: the run will end without {METRICS} and {CONFUSION}; report it later with fer-edge eval")
        return None


def finish_run(
    config: TrainConfig,
    state: dict,
    test: Dataset | None,
    average: WeightAverage | None = None,
    train_faces: np.ndarray | None = None,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
) -> TrainResult:
    """Export the best epoch's weights (with ``--average-from``: the weight average) as a float32
    model.keras, and report it on the test split (if the data has one)."""
    import keras

    from fer_edge.plots import plot_confusion, plot_history

    run = RunFolder(config.out)
    keras.mixed_precision.set_global_policy("float32")
    model = get_architecture(config.arch).build()
    model.load_weights(run.best_weights)
    averaged = None
    if average is not None and average.count:
        model, averaged = score_average(config, model, average, train_faces, validation)
    tmp = temporary(run.model)
    model.save(tmp)
    os.replace(tmp, run.model)

    plot_history(
        run.history, run.curves, title=f"{config.arch} (seed {config.training_seed})",
        average=averaged["validation"]["average"] if averaged else None,
    )  # fmt: skip
    report = None
    if test is not None:
        probs = model.predict(to_model_input(test.images), batch_size=512, verbose=0)
        report = evaluate_predictions(probs, test, model=str(run.model))
        write_json(run.metrics, {"split": test.split, **report.to_dict()})
        plot_confusion(report, run.confusion)

    record = run.read_run_record()
    record.update(
        finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        epochs_run=int(state.get("epoch", 0)),
        best_epoch=int(state.get("best_epoch", 0)),
        best_monitor={config.recipe.monitor: state.get("best_value")},
        stopped_early=bool(state.get("stopped_early", False)),
        train_seconds=round(float(state.get("train_seconds", 0.0)), 1),
    )
    if averaged:
        record["weight_average"] = averaged
    run.write_run_record(record)
    return TrainResult(
        run.path, int(state.get("epoch", 0)), int(state.get("best_epoch", 0)), float(state.get("best_value") or 0.0), report,
        test_split=test.split if test is not None else "test",
    )  # fmt: skip
