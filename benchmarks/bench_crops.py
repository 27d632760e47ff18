#!/usr/bin/env python3
"""How each BlazeFace model's box maps to FER2013's crop, and whether the classifier then agrees.

BlazeFace boxes the face from brows to mouth; FER2013's crops run from the hairline to the chin.
For each model this measures, on pasted ``test/`` faces of 96-192 px (seed 1 by default, the seed
the mapping was chosen on), the median ratio of the crop's side to the raw box's side and the
crop centre's offset from the box centre (in box sides, negative: higher): the ``crop_scale`` and
``crop_shift_y`` of ``device/blazeface.py``. With the shipped mapping it then reports how often
the classifier gives a found face the label it gives the dataset's own 48x48 crop, for each model
and for the default detector (whose closer looks box small faces with short-range), on faces of
96-192 px and of 48-95 px.
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from fer_edge.dataset import default_data_dir, load_split
from fer_edge.device.blazeface import FULL_RANGE, SHORT_RANGE, BlazeFaceDetector
from fer_edge.device.classifier import TFLiteClassifier
from fer_edge.device.detector import FaceDetector, make_detector
from fer_edge.device.faces import crop_faces
from fer_edge.device.runner import default_model_path
from fer_edge.placed_faces import PlacedFrames, match_faces, place_faces


def raw_geometry(detector: BlazeFaceDetector, frames: list[np.ndarray], truth: list[list[list[int]]]) -> tuple[float, float, int]:
    """Median crop/box side ratio and crop-centre offset (box sides), and how many faces they come from."""
    ratios, shifts = [], []
    for frame, boxes in zip(frames, truth):
        x, y, w, h = boxes[0]
        for bx, by, bw, bh in detector.detect(frame):
            if x < bx + bw / 2 < x + w and y < by + bh / 2 < y + h:
                ratios.append(w / bw)
                shifts.append((y + h / 2 - (by + bh / 2)) / bw)
                break
    return float(np.median(ratios)), float(np.median(shifts)), len(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--frames", type=int, default=400)
    args = parser.parse_args()
    test = load_split(default_data_dir(), "test")
    placed = place_faces(test, args.frames, (96, 192), args.seed)
    classifier = TFLiteClassifier(default_model_path())
    flat = [i for frame in placed.indices for i in frame]
    direct = dict(zip(flat, classifier.predict(test.images[flat]).argmax(axis=1)))
    for model, score in ((FULL_RANGE, 0.4), (SHORT_RANGE, 0.4)):
        raw = dataclasses.replace(model, crop_scale=1.0, crop_shift_y=0.0)
        scale, shift, count = raw_geometry(BlazeFaceDetector(score, model=raw), placed.frames, placed.boxes)
        agree, found = agreement(BlazeFaceDetector(score, model=model), placed, classifier, direct)
        print(
            f"{model.name} (min score {score}): from {count} faces, crop_scale {scale:.2f}, crop_shift_y {shift:+.2f} "
            f"(shipped: {model.crop_scale}, {model.crop_shift_y:+.2f}); "
            f"label agreement with the dataset crop {agree / max(found, 1):.1%} of {found} found"
        )
    small = place_faces(test, args.frames, (48, 95), args.seed + 1)
    small_flat = [i for frame in small.indices for i in frame]
    direct.update(zip(small_flat, classifier.predict(test.images[small_flat]).argmax(axis=1)))
    for sizes, frames in (("96-192 px", placed), ("48-95 px", small)):
        agree, found = agreement(make_detector(), frames, classifier, direct)
        print(f"the default detector (auto), {sizes} faces: label agreement with the dataset crop {agree / max(found, 1):.1%} of {found} found")


def agreement(detector: FaceDetector, placed: PlacedFrames, classifier: TFLiteClassifier, direct: dict[int, int]) -> tuple[int, int]:
    """Of the faces ``detector`` finds, how many the classifier labels from the found box as it
    labels the dataset's own crop (``direct``: test/ index to label), and how many it finds."""
    agree = found = 0
    for frame, boxes, indices in zip(placed.frames, placed.boxes, placed.indices):
        detected = detector.detect(frame)
        matches, _ = match_faces(boxes, detected)
        if matches[0] is None:
            continue
        found += 1
        label = classifier.predict(crop_faces(frame, detected[matches[0] : matches[0] + 1])).argmax(axis=1)[0]
        agree += int(label == direct[indices[0]])
    return agree, found


if __name__ == "__main__":
    main()
