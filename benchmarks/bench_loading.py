#!/usr/bin/env python3
"""Benchmark the FER2013 readers: decoding a split from JPEGs, loading it from the cache, and the CSV.

Prints seconds for each, for this machine. The cache goes to a temporary folder so the first load
really decodes every image; the CSV is written there from the decoded images (never kept).

    .venv/bin/python benchmarks/bench_loading.py [--data ../shared/fer2013] [--split train]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from fer_edge.dataset import default_data_dir, load_csv, load_folder, write_csv


def timed(label: str, func, *args, **kwargs):
    start = time.perf_counter()
    result = func(*args, **kwargs)
    print(f"  {label:<38}{time.perf_counter() - start:>7.2f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data_dir(), help="FER2013 folder root")
    parser.add_argument("--split", default="train", choices=["train", "test"])
    args = parser.parse_args()
    print(f"FER2013 loading, {time.strftime('%Y-%m-%d')} on {platform.node()} ({platform.machine()}, {os.cpu_count()} CPUs)")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["FER_EDGE_CACHE"] = tmp
        data = timed(f"{args.split}/ decoded from images", load_folder, args.data, args.split)
        timed(f"{args.split}/ from the cache", load_folder, args.data, args.split)
        csv_path = Path(tmp) / "fer2013.csv"
        write_csv(csv_path, {args.split: data})
        timed(f"{args.split} from the CSV form", load_csv, csv_path, args.split)
    print(f"  {len(data)} images")


if __name__ == "__main__":
    main()
