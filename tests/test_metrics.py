"""Eval's metrics against a confusion matrix worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from fer_edge.metrics import confusion_matrix, report_from_predictions

# Ten faces. By hand:           true -> predicted
#   angry   (0): 3 faces, 2 right, 1 called happy
#   disgust (1): 1 face, right
#   happy   (3): 4 faces, 3 right, 1 called neutral
#   neutral (6): 2 faces, 1 right, 1 called angry
Y_TRUE = [0, 0, 0, 1, 3, 3, 3, 3, 6, 6]
Y_PRED = [0, 0, 3, 1, 3, 3, 6, 3, 6, 0]


def test_confusion_matrix_counts() -> None:
    cm = confusion_matrix(np.array(Y_TRUE), np.array(Y_PRED))
    expected = np.zeros((7, 7), int)
    expected[0, 0], expected[0, 3] = 2, 1
    expected[1, 1] = 1
    expected[3, 3], expected[3, 6] = 3, 1
    expected[6, 6], expected[6, 0] = 1, 1
    np.testing.assert_array_equal(cm, expected)


def test_report_matches_hand_computation() -> None:
    report = report_from_predictions(np.array(Y_TRUE), np.array(Y_PRED))
    d = report.to_dict()
    assert d["n"] == 10
    assert d["accuracy"] == pytest.approx(7 / 10)
    # angry: predicted 3 times (2 right + the neutral face) -> P = 2/3; 3 true, 2 found -> R = 2/3.
    assert d["per_class"]["angry"] == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 3})
    assert d["per_class"]["disgust"] == pytest.approx({"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1})
    # happy: predicted 4 times (3 right + 1 angry face) -> P = 3/4; R = 3/4.
    assert d["per_class"]["happy"] == pytest.approx({"precision": 0.75, "recall": 0.75, "f1": 0.75, "support": 4})
    assert d["per_class"]["neutral"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    # Classes never seen nor predicted count as 0 (sklearn's zero_division=0), all 7 in the macro mean.
    assert d["per_class"]["fear"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert d["macro_f1"] == pytest.approx((2 / 3 + 1 + 0.75 + 0.5) / 7)
    assert d["weighted_f1"] == pytest.approx((3 * 2 / 3 + 1 * 1 + 4 * 0.75 + 2 * 0.5) / 10)


def test_table_prints_percentages() -> None:
    table = report_from_predictions(np.array(Y_TRUE), np.array(Y_PRED)).table()
    assert "accuracy" in table and "70.0" in table
    assert "weighted avg" in table and "macro avg" in table
    assert [line.split()[0] for line in table.splitlines()[1:8]] == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
