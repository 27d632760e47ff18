#!/usr/bin/env python3
"""Benchmark training augmentation (train/augment.py): time per batch, and how sharp it leaves faces.

Prints, for this machine, milliseconds to augment one batch of real training faces, and the
pixel standard deviation of augmented faces against unwarped ones (resampling blurs, lowering
it): the figures the module's docstring quotes.

    .venv/bin/python benchmarks/bench_augment.py [--data ../shared/fer2013] [--batch-size 128]
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from fer_edge.dataset import default_data_dir, load_split
from fer_edge.train.augment import KINDS, augment_batch, batch_rng


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(default_data_dir()))
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--batches", type=int, default=50)
    args = parser.parse_args()

    train = load_split(args.data, "train").images
    test = load_split(args.data, "test").images[:1024]
    print(f"{platform.machine()}, {platform.python_version()}, batch {args.batch_size}, {args.batches} batches")
    print(f"  unwarped test faces: pixel std {test.astype(np.float32).std():.1f}")
    for kind in KINDS:
        start = time.perf_counter()
        for i in range(args.batches):
            rows = slice(i * args.batch_size, (i + 1) * args.batch_size)
            augment_batch(train[rows], kind, batch_rng(0, 0, i))
        per_batch = (time.perf_counter() - start) / args.batches * 1000
        std = augment_batch(test, kind, batch_rng(0, 0, 0)).std()
        print(f"  {kind:<9} {per_batch:6.2f} ms per batch   pixel std of 1,024 augmented test faces {std:.1f}")


if __name__ == "__main__":
    main()
