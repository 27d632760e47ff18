#!/usr/bin/env python3
"""Would test-time views beyond the mirror image help? Validation accuracy of a model per view set.

The shipped models average each face with its mirror image (test-time flip, chosen on the
validation split). Shifted or zoomed copies are the next views FER2013 papers add; each one
costs the Pi another classification per face, so they are worth it only if validation says so.
This prints the validation accuracy of the mirror pair alone and with shifted or zoomed pairs
added (each view with its own mirror image), on the model's own validation split; the
``test/`` split is not read.

    .venv/bin/python benchmarks/tta_views.py models/edge/edge.keras [--data ../shared/fer2013]
"""

from __future__ import annotations

import argparse

import numpy as np

from fer_edge.contract import INPUT_SHAPE
from fer_edge.dataset import default_data_dir
from fer_edge.evaluate import keras_probs, load_eval_split, load_keras_model
from fer_edge.train.augment import warp

SIDE = INPUT_SHAPE[0]


def moved(faces: np.ndarray, dx: float = 0.0, dy: float = 0.0, zoom: float = 1.0) -> np.ndarray:
    """(N, 48, 48, 1) faces scaled about the centre by ``zoom`` and shifted by (dx, dy) pixels,
    with training's own warp (train/augment.py: bilinear, borders mirrored)."""
    centre = (SIDE - 1) / 2.0
    matrix = np.array([[zoom, 0.0, centre * (1 - zoom) + dx], [0.0, zoom, centre * (1 - zoom) + dy]])
    flat = faces.reshape(-1, SIDE, SIDE).astype(np.float32)
    return warp(flat, np.broadcast_to(matrix, (len(flat), 2, 3)))[..., None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a trained .keras model with its run record")
    parser.add_argument("--data", default=str(default_data_dir()))
    args = parser.parse_args()

    val = load_eval_split(args.model, args.data, "val")
    model = load_keras_model(args.model)

    def pair(**move: float) -> np.ndarray:
        return keras_probs(model, moved(val.images, **move), test_time_flip=True)

    def accuracy(probs: np.ndarray) -> str:
        return f"{100 * float(np.mean(probs.argmax(axis=1) == val.labels)):.2f}%"

    centre = pair()
    rows = [("mirror pair (shipped)", centre)]
    for step in (2, 3):
        shifted = sum(pair(dx=dx, dy=dy) for dx, dy in ((step, 0), (-step, 0), (0, step), (0, -step)))
        rows.append((f"+ 4 shifts of {step} px", centre + shifted))
    zooms = {zoom: pair(zoom=zoom) for zoom in (1.05, 1.10, 0.95)}
    for zoom, probs in zooms.items():
        rows.append((f"+ zoom x{zoom:.2f}", centre + probs))
    rows.append(("+ zooms x1.10 and x0.95", centre + zooms[1.10] + zooms[0.95]))
    print(f"{args.model}: validation accuracy, n={len(val.labels)}")
    for name, probs in rows:
        print(f"  {name:<28} {accuracy(probs)}")


if __name__ == "__main__":
    main()
