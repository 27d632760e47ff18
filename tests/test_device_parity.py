"""The runtime classifies a face exactly as ``fer-edge eval`` does: parity on all 3,589 test faces."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fer_edge.contract import IMAGE_SIZE
from fer_edge.device.classifier import TFLiteClassifier
from fer_edge.device.pipeline import FacePipeline
from fer_edge.evaluate import predict_probs

pytestmark = pytest.mark.device


def inner_box(margin: float) -> np.ndarray:
    """The box whose FER2013-style crop (grown by ``margin`` on each side) is the whole 48x48 image."""
    side = IMAGE_SIZE / (1 + 2 * margin)
    start = (IMAGE_SIZE - side) / 2
    return np.array([[start, start, side, side]])


def test_runtime_and_eval_agree_on_the_test_split(edge_int8_model, test_split):
    """Each test image goes through the runtime's per-frame path (BGR frame -> gray -> crop ->
    quantize -> one interpreter call per frame); eval classifies the same images in batches."""
    eval_labels = predict_probs(edge_int8_model, test_split.images).argmax(axis=1)
    pipeline = FacePipeline(TFLiteClassifier(edge_int8_model, num_threads=1))
    box = inner_box(pipeline.margin)
    runtime_labels = np.empty(len(test_split), dtype=np.int64)
    for i, face in enumerate(test_split.images):
        frame = cv2.cvtColor(face, cv2.COLOR_GRAY2BGR)
        result = pipeline.process(frame, index=i, boxes=box)
        assert len(result.faces) == 1
        runtime_labels[i] = result.faces[0].label
    assert len(test_split) == 3589
    agreement = float(np.mean(runtime_labels == eval_labels))
    assert agreement >= 0.995, f"runtime and eval agree on {agreement:.2%} of labels"


def test_test_time_flip_averages_each_face_with_its_mirror(edge_int8_model, test_split):
    """The runtime's flip (fer_edge/flip.py, shared with eval of Keras models) is the mean of the
    model on the faces and on their mirror images, face by face, and it changes some answers."""
    faces = test_split.images[:500]
    plain = TFLiteClassifier(edge_int8_model, num_threads=1, test_time_flip=False)
    flipped = TFLiteClassifier(edge_int8_model, num_threads=1, test_time_flip=True).predict(faces)
    expected = (plain.predict(faces) + plain.predict(faces[:, :, ::-1])) / 2
    np.testing.assert_allclose(flipped, expected, atol=1e-6)
    assert flipped.shape == (500, 7) and not np.array_equal(flipped.argmax(axis=1), plain.predict(faces).argmax(axis=1))
    assert TFLiteClassifier(edge_int8_model, test_time_flip=True).predict(faces[:0]).shape == (0, 7)
