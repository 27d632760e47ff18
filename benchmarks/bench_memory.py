#!/usr/bin/env python3
"""Peak memory (RSS) of ``fer-edge eval`` and ``fer-edge run``, as a small Pi would pay it.

Runs each command as a child process of the ``fer-edge`` installed beside this Python and reads
its peak resident set size from the kernel (``wait4``), so nothing of this script is counted.
Run it with the Python of a venv made as docs/running.md tells Pi users, e.g.
    ~/.cache/fer-edge/device-trixie-venv-*/bin/python benchmarks/bench_memory.py
``eval`` is measured twice: with the decoded test split cached (``~/.cache/fer-edge``, every
later eval) and without (a first eval, decoding 3,589 JPEGs). ``run`` classifies a 300-frame
640x480 video of placed test faces, built in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
from datetime import date
from importlib.metadata import version
from pathlib import Path

from fer_edge.dataset import default_data_dir, load_split
from fer_edge.device.runner import default_model_path
from fer_edge.placed_faces import build_video

#: The budget: a 1 GB Raspberry Pi 4 or a Zero 2 W (512 MB) must run eval and run beside the OS.
BUDGET_MB = 250


def peak_rss_mb(command: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    """Peak RSS in MB of ``command`` (run to the end, output discarded) and its exit code."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / 1024, process.returncode  # Linux reports kilobytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="int8 .tflite [default: the shipped edge-int8.tflite]")
    parser.add_argument("--data", type=Path, default=default_data_dir(), help="FER2013 folder root")
    args = parser.parse_args()
    model = args.model or default_model_path()
    fer_edge = str(Path(sys.executable).with_name("fer-edge"))
    if not Path(fer_edge).is_file():
        raise SystemExit(f"error: no fer-edge beside {sys.executable}; run this with the Python of a venv that has fer-edge installed")
    data_dir = str(args.data.resolve())

    print(f"fer-edge peak memory, {date.today()} on {platform.node()} ({platform.machine()}, {os.cpu_count()} CPUs), "
          f"Python {platform.python_version()}, ai-edge-litert {version('ai-edge-litert')}")  # fmt: skip
    print(f"model {model} ({model.stat().st_size / 1e6:.2f} MB); budget {BUDGET_MB} MB\n")
    with tempfile.TemporaryDirectory(prefix="fer-edge-memory-") as tmp:
        video = Path(tmp) / "faces.mp4"
        build_video(video, load_split(args.data, "test"), frames=300, seed=0, pair_every=0, fps=15.0)
        cold_cache = {**os.environ, "FER_EDGE_CACHE": str(Path(tmp) / "empty-cache")}
        cases = [
            ("eval on test/ (3,589 faces), cached split", [fer_edge, "eval", str(model), "--data", data_dir], None),
            ("eval on test/, first time (decodes the JPEGs)", [fer_edge, "eval", str(model), "--data", data_dir], cold_cache),
            ("run on a 300-frame 640x480 video", [fer_edge, "run", "--camera", str(video), "--model", str(model), "--no-display", "--json", os.devnull], None),
        ]
        print(f"  {'command':<50}{'peak RSS':>10}  within budget")
        for name, command, env in cases:
            mb, code = peak_rss_mb(command, env)
            verdict = "failed" if code else ("yes" if mb <= BUDGET_MB else "NO")
            print(f"  {name:<50}{mb:>7.0f} MB  {verdict}")


if __name__ == "__main__":
    main()
