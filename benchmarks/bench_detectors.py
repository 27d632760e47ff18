#!/usr/bin/env python3
"""Face-detector sweep: found rate and time per frame, by face size and by BlazeFace's minimum score.

Prints the two tables that ``device/detector.py`` (FallbackDetector) and ``device/blazeface.py``
quote. Frames are built in memory as ``bench_runtime.py`` builds its video (a FER2013 test face,
its edges repeated, pasted into a noisy 640x480 frame; seed 1 by default, the selection seed), but
not passed through a video codec. A face counts as found when a box has IoU >= 0.5 with it; a
"false face" is a box with IoU < 0.3. Run it with a device venv's Python to time the interpreter a Pi install uses.
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from fer_edge.dataset import default_data_dir, load_split
from fer_edge.device.detector import DETECTORS, make_detector
from fer_edge.device.smoothing import box_iou


def pasted_frames(images: np.ndarray, count: int, sizes: tuple[int, int], seed: int) -> tuple[list[np.ndarray], list[list[int]]]:
    """Grayscale frames with one face each, and each face's box."""
    rng = np.random.default_rng(seed)
    frames, boxes = [], []
    for index in rng.choice(len(images), count, replace=False):
        frame = np.clip(rng.normal(110, 6, (480, 640)), 0, 255).astype(np.uint8)
        size = int(rng.integers(sizes[0], sizes[1] + 1))
        pad = size // 6
        x = int(rng.integers(pad + 10, 640 - size - pad - 10))
        y = int(rng.integers(pad + 10, 480 - size - pad - 10))
        big = cv2.resize(images[index], (size, size), interpolation=cv2.INTER_CUBIC)
        frame[y - pad : y + size + pad, x - pad : x + size + pad] = cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        frames.append(frame)
        boxes.append([x, y, size, size])
    return frames, boxes


def sweep(detector, frames: list[np.ndarray], boxes: list[list[int]]) -> str:
    for frame in frames[:5]:
        detector.detect(frame)
    found = false = 0
    started = time.perf_counter()
    detected = [detector.detect(frame) for frame in frames]
    ms = (time.perf_counter() - started) / len(frames) * 1000
    for box, found_boxes in zip(boxes, detected):
        if len(found_boxes):
            iou = box_iou(np.array([box]), found_boxes)[0]
            found += iou.max() >= 0.5
            false += int((iou < 0.3).sum())
    return f"{found / len(frames):6.1%} found, {false:2d} false, {ms:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=default_data_dir(), help="FER2013 folder root")
    parser.add_argument("--seed", type=int, default=1, help="which faces and places (1: the seed the settings were chosen on)")
    args = parser.parse_args()
    images = load_split(args.data, "test").images
    print("by face size, 200 frames each:")
    for sizes in ((50, 80), (80, 120), (120, 200), (200, 320)):
        frames, boxes = pasted_frames(images, 200, sizes, args.seed)
        print(f"  {sizes[0]}-{sizes[1]} px: " + "; ".join(f"{name} {sweep(make_detector(name), frames, boxes)}" for name in DETECTORS))
    print("BlazeFace by minimum score, 300 frames of 120-200 px faces (bench_runtime.py's sizes):")
    frames, boxes = pasted_frames(images, 300, (120, 200), args.seed)
    print(f"  haar: {sweep(make_detector('haar'), frames, boxes)}")
    for score in (0.5, 0.4, 0.35, 0.3):
        print(f"  min score {score}: {sweep(make_detector('blazeface', min_score=score), frames, boxes)}")


if __name__ == "__main__":
    main()
