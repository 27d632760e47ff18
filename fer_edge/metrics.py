"""Classification metrics in the reference system's report format, from a confusion matrix.

NumPy only, so ``fer-edge eval`` of a ``.tflite`` model runs on the Pi too. Every number is
derived from the confusion matrix, which makes the report easy to check by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fer_edge.contract import CLASS_NAMES, NUM_CLASSES


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Counts ``cm[t, p]`` of images of true class ``t`` predicted as ``p``."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    return np.bincount(y_true * NUM_CLASSES + y_pred, minlength=NUM_CLASSES**2).reshape(NUM_CLASSES, NUM_CLASSES)


def _safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num/den, with 0 where den is 0 (sklearn's zero_division=0 convention)."""
    out = np.zeros_like(num, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


@dataclass(frozen=True)
class EvalReport:
    """Precision, recall and F1 per class, accuracy and macro/weighted averages of one evaluation."""

    confusion: np.ndarray
    model: str = ""
    data: str = ""
    test_time_flip: bool | None = None  # whether each face was averaged with its mirror image

    @property
    def n(self) -> int:
        return int(self.confusion.sum())

    @property
    def support(self) -> np.ndarray:
        return self.confusion.sum(axis=1)

    @property
    def precision(self) -> np.ndarray:
        return _safe_divide(np.diag(self.confusion), self.confusion.sum(axis=0))

    @property
    def recall(self) -> np.ndarray:
        return _safe_divide(np.diag(self.confusion), self.support)

    @property
    def f1(self) -> np.ndarray:
        p, r = self.precision, self.recall
        return _safe_divide(2 * p * r, p + r)

    @property
    def accuracy(self) -> float:
        return float(np.trace(self.confusion) / max(self.n, 1))

    @property
    def macro_f1(self) -> float:
        return float(self.f1.mean())

    @property
    def weighted_f1(self) -> float:
        return float((self.f1 * self.support).sum() / max(self.n, 1))

    def to_dict(self) -> dict:
        """The ``--json`` form: fractions in [0, 1], not percentages."""
        return {
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "weighted_f1": self.weighted_f1,
            "macro_precision": float(self.precision.mean()),
            "macro_recall": float(self.recall.mean()),
            "weighted_precision": float((self.precision * self.support).sum() / max(self.n, 1)),
            "weighted_recall": float((self.recall * self.support).sum() / max(self.n, 1)),
            "n": self.n,
            "per_class": {
                name: {
                    "precision": float(self.precision[i]),
                    "recall": float(self.recall[i]),
                    "f1": float(self.f1[i]),
                    "support": int(self.support[i]),
                }
                for i, name in enumerate(CLASS_NAMES)
            },
            "confusion_matrix": self.confusion.tolist(),
        }

    def table(self) -> str:
        """The reference's report: per-class P/R/F1 and averages, as percentages."""
        lines = [f"{'':>14}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
        for i, name in enumerate(CLASS_NAMES):
            lines.append(
                f"{name:>14}{100 * self.precision[i]:>10.1f}{100 * self.recall[i]:>10.1f}"
                f"{100 * self.f1[i]:>10.1f}{int(self.support[i]):>10d}"
            )
        d = self.to_dict()
        lines.append("")
        lines.append(f"{'accuracy':>14}{'':>10}{'':>10}{100 * self.accuracy:>10.1f}{self.n:>10d}")
        lines.append(
            f"{'macro avg':>14}{100 * d['macro_precision']:>10.1f}{100 * d['macro_recall']:>10.1f}"
            f"{100 * self.macro_f1:>10.1f}{self.n:>10d}"
        )
        lines.append(
            f"{'weighted avg':>14}{100 * d['weighted_precision']:>10.1f}{100 * d['weighted_recall']:>10.1f}"
            f"{100 * self.weighted_f1:>10.1f}{self.n:>10d}"
        )
        return "\n".join(lines)


def report_from_predictions(y_true: np.ndarray, y_pred: np.ndarray, *, model: str = "", data: str = "") -> EvalReport:
    return EvalReport(confusion_matrix(y_true, y_pred), model=model, data=data)
