"""Edge cases of the runtime's small parts, on small synthetic inputs (accuracy is tested on real data)."""

from __future__ import annotations

import json
import os
import time

import cv2
import numpy as np
import pytest

from fer_edge.contract import CLASS_NAMES
from fer_edge.device.blazeface import FULL_RANGE, SHORT_RANGE, BlazeFaceDetector, anchor_centres, weighted_nms
from fer_edge.device.detector import EveryNthFrame, HaarFaceDetector, LookCloser, away_from, find_cascade, make_detector
from fer_edge.device.faces import clip_box, crop_face, crop_faces, crop_square, to_gray
from fer_edge.device.results import Face, FrameResult, RunSummary, StageTimes
from fer_edge.device.smoothing import FaceSmoother, box_iou
from fer_edge.device.sources import Frame, FrameSource, ImageSource, open_source
from fer_edge.errors import FerEdgeError

pytestmark = pytest.mark.device


def test_crop_of_the_inner_box_is_the_face_itself():
    """A box that, grown by the 0.1 margin, is exactly a 48x48 frame gives that frame back unchanged."""
    face = np.random.default_rng(0).integers(0, 256, (48, 48), dtype=np.uint8)
    assert crop_square((4, 4, 40, 40), 0.1) == (0, 0, 48)
    np.testing.assert_array_equal(crop_face(face, (4, 4, 40, 40), 0.1), face)


def test_crop_is_square_and_grows_by_the_margin_on_each_side():
    assert crop_square((100, 50, 80, 100), 0.1) == (80, 40, 120)  # the longer side, +10% each side


def test_crop_at_the_frame_edge_keeps_the_scale_and_repeats_the_edge():
    frame = np.zeros((100, 100), dtype=np.uint8)
    frame[:, :50] = 200
    crop = crop_face(frame, (-20, 0, 40, 40), margin=0.0)  # half of the box lies left of the frame
    assert crop.shape == (48, 48)
    assert (crop[:, :24] == 200).all()  # the padding repeats the bright left edge


def test_box_wholly_outside_the_frame_gives_a_grey_face():
    crop = crop_face(np.zeros((50, 50), dtype=np.uint8), (500, 500, 20, 20))
    assert crop.shape == (48, 48) and (crop == 128).all()


@pytest.mark.parametrize(
    ("box", "clipped"),
    [
        ((-1, -8, 57, 57), (0, 0, 48, 48)),  # a detector's box around a whole 48x48 image
        ((10, 12, 20, 20), (10, 12, 20, 20)),  # inside: unchanged
        ((40, 30, 20, 30), (40, 30, 8, 18)),  # past the right and bottom edges
        ((60, 60, 10, 10), (48, 48, 0, 0)),  # wholly outside: nothing of it is in the frame
    ],
)
def test_reported_boxes_are_clipped_to_the_frame(box, clipped):
    assert clip_box(box, 48, 48) == clipped


def test_crop_faces_of_no_box_is_an_empty_batch():
    assert crop_faces(np.zeros((10, 10), np.uint8), np.zeros((0, 4), int)).shape == (0, 48, 48)


def test_to_gray_accepts_bgr_bgra_and_gray():
    bgr = np.full((4, 4, 3), (10, 20, 30), dtype=np.uint8)
    expected = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    np.testing.assert_array_equal(to_gray(bgr), expected)
    np.testing.assert_array_equal(to_gray(cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA)), expected)
    np.testing.assert_array_equal(to_gray(expected), expected)


def test_box_iou():
    iou = box_iou(np.array([[0, 0, 10, 10]]), np.array([[0, 0, 10, 10], [5, 0, 10, 10], [20, 20, 5, 5]]))
    np.testing.assert_allclose(iou, [[1.0, 50 / 150, 0.0]])


def test_smoother_averages_a_face_over_frames_and_keeps_faces_apart():
    smoother = FaceSmoother(window=2)
    a, b = np.eye(7)[3], np.eye(7)[0]
    first = smoother.update(0, np.array([[0, 0, 50, 50], [200, 0, 50, 50]]), np.stack([a, b]))
    np.testing.assert_allclose(first, np.stack([a, b]))
    # The first face moved a little and changed class; the second stayed: each keeps its own history.
    second = smoother.update(1, np.array([[205, 2, 50, 50], [4, 2, 50, 50]]), np.stack([b, b]))
    np.testing.assert_allclose(second[1], (a + b) / 2)
    np.testing.assert_allclose(second[0], b)


def test_smoother_forgets_a_face_gone_for_too_long():
    smoother = FaceSmoother(window=5, max_missing=2)
    smoother.update(0, np.array([[0, 0, 50, 50]]), np.eye(7)[[3]])
    later = smoother.update(10, np.array([[0, 0, 50, 50]]), np.eye(7)[[0]])
    np.testing.assert_allclose(later, np.eye(7)[[0]])


def test_frame_result_json_line_has_the_documented_shape():
    probs = np.array([0.01, 0.0, 0.02, 0.93, 0.01, 0.01, 0.02], dtype=np.float32)
    result = FrameResult(7, 0.4, (Face((10, 20, 30, 40), probs),), StageTimes(0.01, 0.02, 0.003))
    line = json.loads(result.to_json())
    assert line == {
        "frame": 7,
        "time": 0.4,
        "faces": [{"box": [10, 20, 30, 40], "emotion": "happy", "score": 0.93, "probs": line["faces"][0]["probs"]}],
    }
    assert list(line["faces"][0]["probs"]) == list(CLASS_NAMES)
    assert "happy 0.93" in str(result)
    from_image = json.loads(FrameResult(0, 0.0, (), source="a.png").to_json())
    assert list(from_image) == ["frame", "time", "source", "faces"] and from_image["source"] == "a.png"
    canvas = result.draw(np.zeros((100, 100), np.uint8))
    assert canvas.shape == (100, 100, 3) and canvas.any()


def test_summary_adds_frames_faces_and_stage_times():
    summary = RunSummary("video.mp4", "m.tflite", "tflite_runtime", 2)
    face = Face((0, 0, 10, 10), np.eye(7, dtype=np.float32)[6])
    summary.add(FrameResult(0, 0.0, (face, face), StageTimes(0.01, 0.02, 0.03)))
    summary.add(FrameResult(1, 0.1, (), StageTimes(0.01, 0.02, 0.0)))
    summary.finish("end of source")
    assert (summary.frames, summary.faces, summary.frames_with_faces) == (2, 2, 1)
    assert summary.emotions["neutral"] == 2
    assert summary.per_frame_ms(summary.detect_s) == pytest.approx(20.0)
    table = summary.table()
    assert "2 frames, 2 faces" in table and "detect" in table and "tflite_runtime" in table


def test_cascade_ships_with_opencv_and_finds_nothing_in_a_blank_frame():
    assert find_cascade().is_file()
    assert HaarFaceDetector().detect(np.full((480, 640), 128, np.uint8)).shape == (0, 4)


@pytest.mark.parametrize(("model", "anchors"), [(SHORT_RANGE, 896), (FULL_RANGE, 2304)])
def test_both_blazeface_models_ship_with_the_package_and_find_nothing_in_a_blank_frame(model, anchors):
    detector = BlazeFaceDetector(model=model)
    assert len(anchor_centres(model)) == anchors == model.anchor_count  # the model's output rows, checked again when it loads
    assert detector.detect(np.full((480, 640), 128, np.uint8)).shape == (0, 4)


class FixedOutputs:
    """A stand-in interpreter whose box and score outputs are set by the test."""

    def __init__(self, raw: np.ndarray, logits: np.ndarray, boxes_index: int, scores_index: int) -> None:
        self.outputs = {boxes_index: raw[None], scores_index: logits[None, :, None]}

    def set_tensor(self, index: int, value: np.ndarray) -> None:
        pass

    def invoke(self) -> None:
        pass

    def get_tensor(self, index: int) -> np.ndarray:
        return self.outputs[index]


def test_blazeface_keeps_exactly_the_anchors_whose_score_reaches_the_minimum():
    """Scores are the sigmoid of the model's logits; the minimum applies to the score, not the logit."""
    detector = BlazeFaceDetector(model=SHORT_RANGE)
    raw = np.zeros((SHORT_RANGE.anchor_count, 16), np.float32)
    raw[:, 2:4] = 10.0  # 10x10 px boxes in the 128 px input, at the anchors' centres
    logits = np.full(SHORT_RANGE.anchor_count, -30.0, np.float32)
    chosen = [0, 300, 800]  # anchors far apart: three separate faces
    logits[chosen] = [0.36, 0.45, 2.2]  # scores 0.589, 0.611, 0.900
    detector.interpreter = FixedOutputs(raw, logits, detector.boxes_index, detector.scores_index)
    boxes, scores = detector.scored_faces(np.zeros((128, 128), np.uint8), 0.6)
    np.testing.assert_allclose(scores, 1.0 / (1.0 + np.exp(-np.array([2.2, 0.45]))), rtol=1e-6)
    centres = anchor_centres(SHORT_RANGE)[[800, 300]] * 128
    np.testing.assert_allclose(boxes[:, :2] + 5.0, centres, atol=1e-4)
    assert len(detector.scored_faces(np.zeros((128, 128), np.uint8), 0.95)[0]) == 0


def test_blazeface_refuses_a_model_that_is_not_blazeface(edge_int8_model):
    with pytest.raises(FerEdgeError, match="not BlazeFace short-range"):
        BlazeFaceDetector(model_path=edge_int8_model)
    with pytest.raises(FerEdgeError, match="not BlazeFace full-range"):
        BlazeFaceDetector(model=FULL_RANGE, model_path=SHORT_RANGE.path)


def test_boxes_away_from_found_faces_are_other_faces():
    """A box is another face unless it overlaps a found one (IoU >= 0.3) or is centred inside one:
    a much larger box centred on a face (IoU under 0.3) is still that face."""
    found = np.array([[10, 10, 40, 40], [30, 130, 20, 20]])
    boxes = np.array([[12, 11, 40, 40], [150, 20, 60, 60], [0, 100, 80, 80]])
    np.testing.assert_array_equal(away_from(boxes, found), [False, True, False])
    np.testing.assert_array_equal(away_from(boxes, np.zeros((0, 4))), [True, True, True])
    assert away_from(np.zeros((0, 4)), found).shape == (0,)


class BlobModel:
    """A stand-in for a BlazeFace model. ``scored_faces`` gives set candidates (full-range's part)
    or, with none set, boxes the bright blobs of the image it is given, scored by their
    brightness (short-range's closer look), so the test sees where each look was cut from. Its
    crops are its boxes scaled by ``crop_scale`` about their centres."""

    def __init__(self, min_score: float, candidates: list[tuple[list[float], float]] | None = None, crop_scale: float = 1.0) -> None:
        self.min_score, self.candidates, self.crop_scale, self.looked_at = min_score, candidates, crop_scale, []

    def scored_faces(self, gray: np.ndarray, min_score: float) -> tuple[np.ndarray, np.ndarray]:
        if self.candidates is not None:
            kept = [(box, score) for box, score in self.candidates if score >= min_score]
            return np.array([b for b, _ in kept], dtype=np.float64).reshape(-1, 4), np.array([s for _, s in kept])
        self.looked_at.append(gray.shape)
        count, labels, stats, _ = cv2.connectedComponentsWithStats((gray > 100).astype(np.uint8))
        scores = np.array([gray[labels == k].mean() / 255 for k in range(1, count)])
        kept = scores >= min_score
        return stats[1:count, :4][kept].astype(np.float64).reshape(-1, 4), scores[kept]

    def crops(self, boxes: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        side = boxes[:, 2:].max(axis=1) * self.crop_scale
        corner = boxes[:, :2] + boxes[:, 2:] / 2.0 - side[:, None] / 2.0
        return np.round(np.column_stack([corner, side, side])).astype(np.int32).reshape(-1, 4)

    def describe(self) -> str:
        return "blobs"


def test_looking_closer_confirms_weak_candidates_in_the_frames_own_pixels():
    """Full-range is sure of one face and unsure of six. The closer looks (squares of three times
    a candidate's side, at most four) go to the strongest candidates not on a face already found;
    they keep short-range's faces there at its own score, with its own crops, in frame
    coordinates, and not the sure face again when a square holds it too. A dim blob is refused,
    and the sixth candidate is never looked at."""
    frame = np.zeros((480, 640), np.uint8)
    frame[40:80, 100:140] = 255  # the sure face
    frame[100:120, 300:320] = 255  # under candidate b
    frame[50:70, 160:180] = 255  # under candidate g, whose square holds the sure face too
    frame[300:328, 500:528] = 255  # under candidate c
    frame[200:220, 200:220] = 165  # under candidate d: scores 0.65, above full-range's 0.6, under a look's 0.7
    frame[400:420, 50:70] = 255  # under candidate e, beyond the looks allowed
    full = BlobModel(0.6, [([100, 40, 40, 40], 0.9), ([110, 50, 20, 20], 0.5), ([298, 98, 24, 24], 0.4), ([130, 40, 40, 40], 0.35),
                           ([502, 302, 24, 24], 0.3), ([200, 200, 20, 20], 0.2), ([48, 398, 24, 24], 0.15)])  # fmt: skip
    closer = BlobModel(0.7, crop_scale=1.5)
    boxes = LookCloser(full, closer, looks=4, zoom=3.0).detect(frame)
    np.testing.assert_array_equal(boxes, [[493, 293, 42, 42], [100, 40, 40, 40], [295, 95, 30, 30], [155, 45, 30, 30]])
    assert closer.looked_at == [(72, 72), (120, 120), (72, 72), (60, 60)]


def test_a_look_keeps_only_faces_wholly_inside_its_square_and_skips_candidates_off_the_frame():
    """A neighbour cut by the square's edge is left to a look of its own; a candidate centred in
    the model's padding beyond the frame costs no look."""
    frame = np.zeros((480, 640), np.uint8)
    frame[100:130, 100:130] = 255  # the candidate's face
    frame[100:130, 150:180] = 255  # a neighbour the square (70-160) cuts
    full = BlobModel(0.6, [([-60, 100, 30, 30], 0.5), ([100, 100, 30, 30], 0.4)])
    closer = BlobModel(0.7)
    np.testing.assert_array_equal(LookCloser(full, closer, looks=1).detect(frame), [[100, 100, 30, 30]])
    assert closer.looked_at == [(90, 90)]


def test_where_nothing_is_found_short_range_looks_at_the_whole_frame_at_its_own_score():
    """A face filling the frame, which full-range does not rank: short-range on the whole frame
    takes it from the whole-frame score (by default 0.05 above full-range's minimum: 0.65 here),
    lower than a closer look's (0.7), and not under it."""
    frame = np.zeros((480, 640), np.uint8)
    frame[100:400, 200:500] = 170  # scores 0.67
    closer = BlobModel(0.7, crop_scale=1.5)
    np.testing.assert_array_equal(LookCloser(BlobModel(0.6, []), closer).detect(frame), [[125, 25, 450, 450]])
    assert LookCloser(BlobModel(0.6, []), closer, frame_score=0.68).detect(frame).shape == (0, 4)
    assert LookCloser(BlobModel(0.64, []), closer).detect(frame).shape == (0, 4)  # 0.69 needed
    empty = LookCloser(BlobModel(0.6, []), BlobModel(0.7)).detect(np.zeros((48, 48), np.uint8))
    assert empty.shape == (0, 4) and empty.dtype == np.int32
    default = make_detector()
    assert (default.full.min_score, default.frame_score, default.closer.min_score) == pytest.approx((0.6, 0.65, 0.7))
    lowered = make_detector(min_score=0.5)
    assert (lowered.full.min_score, lowered.frame_score, lowered.closer.min_score) == pytest.approx((0.5, 0.55, 0.6))


def test_the_default_on_a_blank_frame_makes_one_pass_of_each_model():
    """Nothing to look closer at, nothing found: full-range once, then short-range once on the
    whole frame; the pass counts are what bench_detectors.py reports as cost. (White: full-range
    scores it 0.03 at most, well under the 0.1 that would make a candidate; mid-grey comes near.)"""
    detector = make_detector()
    assert isinstance(detector, LookCloser)
    assert detector.detect(np.full((480, 640), 255, np.uint8)).shape == (0, 4)
    assert (detector.full.passes, detector.closer.passes) == (1, 1)


class CountingBoxes:
    """A detector whose box moves 10 px right on every call: which frame's boxes came back shows."""

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, gray: np.ndarray) -> np.ndarray:
        self.calls += 1
        return np.array([[10 * self.calls, 0, 20, 20]], dtype=np.int32)

    def describe(self) -> str:
        return "counting"


def test_detecting_every_nth_frame_keeps_the_last_boxes_between():
    counting = CountingBoxes()
    every_third = EveryNthFrame(counting, 3)
    frame = np.zeros((48, 48), np.uint8)
    lefts = [int(every_third.detect(frame)[0, 0]) for _ in range(7)]
    assert lefts == [10, 10, 10, 20, 20, 20, 30]  # detected on frames 0, 3 and 6 only
    assert int(every_third.detect(np.zeros((60, 80), np.uint8))[0, 0]) == 40  # another size: detected afresh
    assert "every 3 frames" in make_detector("haar", every=3).describe()
    with pytest.raises(FerEdgeError, match="--detect-every 0: must be at least 1"):
        make_detector(every=0)


def test_a_json_line_that_fails_halfway_is_cut_back(tmp_path, monkeypatch):
    """A disk that fills during a line: the file keeps only whole lines, and the error is one line."""
    import errno

    from fer_edge.device import outputs

    out = tmp_path / "faces.jsonl"
    lines = outputs.JsonLines(out)
    lines.write(FrameResult(0, 0.0, ()))
    real_write = os.write

    def half_then_full(fd: int, data) -> int:
        if len(data) > 10:
            real_write(fd, bytes(data[: len(data) // 2]))  # half the line reaches the disk
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(outputs.os, "write", half_then_full)
    with pytest.raises(outputs.OutputError, match="No space left on device"):
        lines.write(FrameResult(1, 0.1, ()))
    assert out.read_text() == FrameResult(0, 0.0, ()).to_json() + "\n"


def test_appending_refuses_a_file_that_is_not_fer_edges_output(tmp_path):
    from fer_edge.device.outputs import JsonLines, OutputError

    notes = tmp_path / "notes.txt"
    notes.write_text("shopping list\nmilk")
    with pytest.raises(OutputError, match="does not end in a whole line of fer-edge's JSON"):
        JsonLines(notes, append=True).write(FrameResult(0, 0.0, ()))
    assert notes.read_text() == "shopping list\nmilk"


def test_json_lines_go_to_a_pipe(tmp_path):
    """A named pipe (or /dev/stdout into one) cannot seek: lines are written, nothing is cut."""
    import threading

    from fer_edge.device.outputs import JsonLines

    fifo = tmp_path / "lines"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    lines = JsonLines(fifo)
    for i in range(3):
        lines.write(FrameResult(i, 0.0, ()))
    lines.close()
    reader.join(timeout=10)
    assert [json.loads(line)["frame"] for line in received[0].splitlines()] == [0, 1, 2]


def test_labels_of_faces_side_by_side_do_not_overlap():
    """Six touching faces in a row, some at the top edge: every label stays in the frame and clear of the others."""
    faces = tuple(Face((x, y, 60, 60), np.eye(7)[k % 7]) for k, (x, y) in enumerate([(0, 0), (60, 5), (120, 0), (180, 30), (240, 0), (300, 10)]))
    result = FrameResult(0, 0.0, faces)
    labels = [label.rect for label in result.labels((400, 300))]
    for i, (x, y, w, h) in enumerate(labels):
        assert 0 <= x and 0 <= y and x + w <= 400 and y + h <= 300
        for j in range(i):
            other = labels[j]
            assert not (x < other[0] + other[2] and other[0] < x + w and y < other[1] + other[3] and other[1] < y + h), (labels[i], other)
    drawn = result.draw(np.zeros((300, 400, 3), np.uint8))
    assert drawn.shape == (300, 400, 3) and drawn.any()


def test_weighted_nms_averages_one_face_by_score_and_keeps_faces_apart():
    boxes = np.array([[0, 0, 10, 10], [2, 0, 10, 10], [50, 50, 10, 10]], dtype=np.float64)
    merged, scores = weighted_nms(boxes, np.array([0.6, 0.2, 0.9]))
    np.testing.assert_allclose(merged, [[50, 50, 10, 10], [0.5, 0, 10, 10]])
    np.testing.assert_allclose(scores, [0.9, 0.6])


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no/such/video.mp4", "no such file or folder"),
        ("{empty}", "no images found"),
        ("{text}", "cannot open as a video"),
    ],
)
def test_sources_that_cannot_be_opened_say_why(tmp_path, spec, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("not a video\n")
    spec = spec.format(empty=tmp_path / "empty", text=tmp_path / "notes.txt")
    with pytest.raises(FerEdgeError, match=message):
        open_source(spec)


def test_image_folder_is_read_in_name_order(tmp_path):
    for name, value in (("b.png", 20), ("a.png", 10)):
        cv2.imwrite(str(tmp_path / name), np.full((8, 8, 3), value, np.uint8))
    with open_source(tmp_path) as source:
        values = [int(source.read().image[0, 0, 0]), int(source.read().image[0, 0, 0])]
        assert values == [10, 20] and source.read() is None


class DroppingCamera(FrameSource):
    """A live camera that delivers 3 frames, drops out for 2 reads, delivers 2 more, then dies."""

    live = True
    name = "camera 9"

    def __init__(self) -> None:
        self.script = [True] * 3 + [False] * 2 + [True] * 2
        self.reopened = 0
        self.closed = False

    def read(self) -> Frame | None:
        ok = self.script.pop(0) if self.script else False
        return Frame(np.full((120, 160, 3), 100, np.uint8), 0.0) if ok else None

    def reopen(self) -> bool:
        self.reopened += 1
        return False

    def close(self) -> None:
        self.closed = True


def test_a_dropping_live_camera_is_retried_then_the_run_ends_cleanly(edge_int8_model, monkeypatch):
    from fer_edge.device import runner

    monkeypatch.setattr(runner, "RETRY_PAUSE_S", 0.01)
    monkeypatch.setattr(runner, "REOPEN_EVERY", 3)
    camera = DroppingCamera()
    logged = []
    summary = runner.run(camera=camera, model=edge_int8_model, display=False, retry_s=0.2, log=logged.append)
    assert summary.frames == 5  # the 2-read gap was retried over, not taken as the end
    assert summary.stopped.startswith("no frame for") and camera.reopened >= 1 and camera.closed
    assert "5 frames" in logged[-1]


class SlowToReopenCamera(DroppingCamera):
    """Two frames, then none; each reopen blocks for 1.2 s, as a USB camera's can."""

    def __init__(self) -> None:
        super().__init__()
        self.script = [True, True]

    def reopen(self) -> bool:
        time.sleep(1.2)
        return super().reopen()


def test_the_stall_summary_says_how_long_the_camera_was_silent(edge_int8_model, monkeypatch):
    """The wait ran past retry_s (0.2 s) while the camera reopened: the summary says 1 s, not 0."""
    from fer_edge.device import runner

    monkeypatch.setattr(runner, "RETRY_PAUSE_S", 0.01)
    monkeypatch.setattr(runner, "REOPEN_EVERY", 1)
    summary = runner.run(camera=SlowToReopenCamera(), model=edge_int8_model, display=False, retry_s=0.2, log=lambda text: None)
    silent = int(summary.stopped.removeprefix("no frame for ").removesuffix(" s"))
    assert summary.frames == 2 and silent >= 1  # the retry window alone would say 0 s


def test_a_camera_device_that_cannot_open_is_not_called_a_url():
    with pytest.raises(FerEdgeError, match="/dev/video99: cannot open this camera device; check it exists"):
        open_source("/dev/video99")


def test_a_live_camera_that_never_delivers_is_an_error(edge_int8_model, monkeypatch):
    from fer_edge.device import runner

    monkeypatch.setattr(runner, "RETRY_PAUSE_S", 0.01)
    camera = DroppingCamera()
    camera.script = []
    with pytest.raises(FerEdgeError, match="camera 9: opened but delivered no frame"):
        runner.run(camera=camera, model=edge_int8_model, display=False, retry_s=0.1, log=lambda text: None)


def test_background_items_arrive_in_order_and_errors_at_their_place():
    from fer_edge.device.background import in_background

    assert list(in_background(iter(range(50)), depth=3)) == list(range(50))

    def fails_at_three():
        yield from range(3)
        raise FerEdgeError("video.mp4: cannot decode frame 3")

    got = []
    with pytest.raises(FerEdgeError, match="frame 3"):
        for item in in_background(fails_at_three()):
            got.append(item)
    assert got == [0, 1, 2]


def test_closing_the_background_stops_its_producer_within_depth():
    """A consumer that stops early (--max-frames, Ctrl-C) stops the reading thread and waits for it."""
    import threading

    from fer_edge.device.background import in_background

    produced, closed = [], threading.Event()

    def frames():
        try:
            for i in range(1000):
                produced.append(i)
                yield i
        finally:
            closed.set()

    stream = in_background(frames(), depth=2)
    assert [next(stream) for _ in range(5)] == list(range(5))
    stream.close()
    assert closed.is_set(), "the producer's own cleanup ran before close() returned"
    assert len(produced) <= 5 + 2 + 1, "it read at most depth items ahead (and one it could not hand over)"


def test_stopping_an_overlapped_run_cuts_a_dead_cameras_retries_short(monkeypatch):
    """Ctrl-C while the reading thread retries a dead camera: it stops at once, not after retry_s."""
    import threading
    import time

    from fer_edge.device import runner
    from fer_edge.device.background import in_background

    monkeypatch.setattr(runner, "RETRY_PAUSE_S", 0.01)
    camera = DroppingCamera()
    camera.script = [True]  # one frame, then nothing for as long as it is retried
    stop = threading.Event()
    frames = in_background((runner.read_frame(camera, retry_s=30.0, stop=stop) for _ in range(2)), stop=stop)
    assert next(frames) is not None
    time.sleep(0.1)  # the thread is now retrying the dead camera
    started = time.perf_counter()
    frames.close()
    assert time.perf_counter() - started < 1.0, "the retry loop saw the stop instead of waiting 30 s"


def test_an_image_folder_skips_what_it_cannot_read_and_names_it(tmp_path):
    """A file gone since the folder was listed (or unreadable to this user) is skipped like a
    corrupt one; when nothing could be read the error says so."""
    good = tmp_path / "b.png"
    cv2.imwrite(str(good), np.full((48, 64, 3), 200, np.uint8))
    source = ImageSource([tmp_path / "a.png", good], name=str(tmp_path))
    frame = source.read()
    assert frame is not None and frame.name == "b.png" and frame.time == 1.0 and source.read() is None
    message = str(source.unread_error())
    assert message.startswith(f"{tmp_path / 'a.png'}: cannot read (") and "the other 1 of 2 images were processed" in message
    corrupt = tmp_path / "c.png"
    corrupt.write_text("not a picture")
    nothing = ImageSource([corrupt, tmp_path / "a.png"], name=str(tmp_path))
    assert nothing.read() is None
    assert "unreadable or corrupt image (none of the 2 images could be read)" in str(nothing.unread_error())

