"""Prove a converted model: float and TFLite scored on the same test faces, and the drop between them.

The TFLite side goes through :class:`~fer_edge.device.classifier.TFLiteClassifier`, the very code
the Pi runs, so the accuracy recorded here is the accuracy the device gets.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


from fer_edge.contract import Dataset
from fer_edge.evaluate import evaluate_predictions, keras_probs
from fer_edge.metrics import EvalReport

#: Default ``--tolerance``: the most accuracy (in percentage points) conversion may cost.
DEFAULT_TOLERANCE: float = 1.0


@dataclass(frozen=True)
class Comparison:
    """Float and TFLite reports on one split; ``drop_points`` > 0 means the TFLite model is worse."""

    float_report: EvalReport
    tflite_report: EvalReport
    tolerance: float

    @property
    def drop_points(self) -> float:
        return 100.0 * (self.float_report.accuracy - self.tflite_report.accuracy)

    @property
    def accepted(self) -> bool:
        return self.drop_points <= self.tolerance

    def summary(self, mode: str) -> str:
        """The lines a person reads: both accuracies, weighted F1, and the drop against the tolerance."""
        f, t = self.float_report, self.tflite_report
        verdict = "ok" if self.accepted else "REFUSED"
        return "\n".join(
            [
                f"{'':>10}{'accuracy':>10}{'weighted F1':>13}",
                f"{'float':>10}{100 * f.accuracy:>9.2f}%{100 * f.weighted_f1:>12.2f}%",
                f"{mode:>10}{100 * t.accuracy:>9.2f}%{100 * t.weighted_f1:>12.2f}%",
                f"drop {self.drop_points:+.2f} points (tolerance {self.tolerance:g}): {verdict}",
            ]
        )

    def to_dict(self) -> dict:
        return {
            "float_accuracy": self.float_report.accuracy,
            "tflite_accuracy": self.tflite_report.accuracy,
            "drop_points": self.drop_points,
            "tolerance_points": self.tolerance,
            "accepted": self.accepted,
        }


def compare(
    model,
    tflite_path: str | os.PathLike[str],
    test: Dataset,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    test_time_flip: bool = False,
    name: str = "",
) -> Comparison:
    """Score the loaded float ``model`` and the ``.tflite`` file on ``test``, the same way."""
    from fer_edge.device.classifier import TFLiteClassifier

    float_report = evaluate_predictions(keras_probs(model, test.images, test_time_flip), test, model=f"{name} (float)")
    classifier = TFLiteClassifier(Path(tflite_path), test_time_flip=test_time_flip)
    tflite_report = evaluate_predictions(classifier.predict(test.images), test, model=name or str(tflite_path))
    return Comparison(float_report, tflite_report, tolerance)
