#!/usr/bin/env python3
"""Benchmark the Pi runtime: int8 latency per face, and end-to-end FPS next to the PyPI ``fer`` package.

Prints, for this machine:
  1. the int8 classifier's latency per face (batch of one, as live video runs it), 1 and 2 threads;
  2. end-to-end FPS on a 640x480 video with one real FER2013 test face per frame (built in a
     temporary folder, never kept), for ``fer-edge run`` and for ``fer`` (its Haar detector and
     quantized mini-Xception TFLite model) on the same video, with each pipeline's face-found rate
     (IoU >= 0.5 with where the face was placed) and label accuracy.

``fer`` needs TensorFlow (and, for its MTCNN option, torch via facenet-pytorch), so it is installed
in a throwaway venv outside the repository: ``fer`` itself with --no-deps, plus what its Haar +
TFLite path imports (tensorflow, opencv-contrib-python, requests, pillow, setuptools for
pkg_resources). MTCNN, video-file and plotting extras are not installed and not used.

Run it with the Python of a venv made as docs/running.md tells Pi users (the tests keep one per
Raspberry Pi OS release), e.g.
    ~/.cache/fer-edge/device-trixie-venv-*/bin/python benchmarks/bench_runtime.py
The interpreter fer-edge uses is printed in each row.
A smoke run: ``--frames 20 --skip-fer``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from datetime import date
from pathlib import Path

# Only where TensorFlow is the interpreter (the main venv): keep its start-up chatter out of the figures.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore", message=r".*tf\.lite\.Interpreter is deprecated")

import numpy as np  # noqa: E402

from fer_edge.contract import Dataset  # noqa: E402
from fer_edge.dataset import cache_dir, default_data_dir, load_split  # noqa: E402
from fer_edge.device.classifier import TFLiteClassifier  # noqa: E402
from fer_edge.device.detector import DETECTORS  # noqa: E402
from fer_edge.device.runner import default_model_path, run  # noqa: E402
from fer_edge.placed_faces import PlacedVideo, build_video, score_run  # noqa: E402

FER_VERSION = "25.10.3"
#: fer's Haar + TFLite path imports these (its full requirements add torch, moviepy, pandas).
FER_RUNTIME_DEPS = ["tensorflow>=2.16,<2.22", "opencv-contrib-python<5", "requests", "pillow", "setuptools<81"]


def per_face_latency(model: Path, faces: np.ndarray, threads: int, repeats: int) -> tuple[float, float]:
    """Median and 90th-percentile milliseconds to classify one face (batch of 1)."""
    classifier = TFLiteClassifier(model, num_threads=threads)
    for face in faces[:20]:
        classifier.predict(face[np.newaxis])
    times = []
    for i in range(repeats):
        face = faces[i % len(faces)][np.newaxis]
        start = time.perf_counter()
        classifier.predict(face)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), float(np.percentile(times, 90))


def score(video: PlacedVideo, data: Dataset, predicted: list[list[dict]]) -> dict:
    """Found rate (IoU >= 0.5), accuracy over all placed faces, and over the found ones."""
    scored = score_run(video, predicted)
    right = sum(label == data.labels[index] for label, index in zip(scored.labels, scored.indices))
    return {"found": scored.found_rate, "accuracy": right / scored.placed, "accuracy_found": right / max(scored.found, 1), "spurious": scored.false_boxes}


def run_fer_edge(
    video: Path,
    model: Path,
    workdir: Path,
    test_time_flip: bool | None = None,
    overlap: bool = False,
    detector: str | None = None,
) -> dict:
    out = workdir / "fer-edge.jsonl"
    summary = run(camera=str(video), model=model, display=False, json_out=out, smooth=False,
                  test_time_flip=test_time_flip, overlap=overlap, detector=detector, log=lambda text: None)  # fmt: skip
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    return {
        "fps": summary.fps,
        "backend": summary.backend,
        "threads": summary.threads,
        "overlapped": summary.overlapped,
        "faces": [line["faces"] for line in lines],
        "ms": {k: summary.per_frame_ms(getattr(summary, f"{k}_s")) for k in ("read", "detect", "classify")},
    }


def fer_venv(root: Path) -> tuple[Path | None, str]:
    """The throwaway venv with ``fer`` (made once, reused); ``None`` and why when it cannot be made."""
    python = root / "bin" / "python"
    ready = root / ".ready"
    if ready.is_file():
        return python, "reused"
    steps = [
        [sys.executable if not hasattr(sys, "_base_executable") else sys._base_executable, "-m", "venv", "--clear", str(root)],
        [str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", f"fer=={FER_VERSION}"],
        [str(python), "-m", "pip", "install", "--quiet", *FER_RUNTIME_DEPS],
    ]
    for step in steps:
        print(f"  $ {' '.join(step)}", flush=True)
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            return None, f"failed: {' '.join(step)}\n{(done.stderr or done.stdout)[-1500:]}"
    ready.write_text(" ".join(FER_RUNTIME_DEPS) + "\n")
    return python, "installed"


FER_SCRIPT = textwrap.dedent(
    """
    import json, os, sys, time, warnings
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    warnings.filterwarnings("ignore")
    import cv2
    from fer.fer import FER  # this release's fer/__init__.py does not export FER
    import fer as fer_package
    started = time.perf_counter()
    detector = FER()  # its defaults: Haar cascade, quantized TFLite emotion model
    load_s = time.perf_counter() - started
    capture = cv2.VideoCapture(sys.argv[1])
    faces, frames = [], 0
    started = time.perf_counter()
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames += 1
        found = detector.detect_emotions(frame)
        faces.append([{"box": [int(v) for v in f["box"]], "emotion": max(f["emotions"], key=f["emotions"].get)} for f in found])
    seconds = time.perf_counter() - started
    print(json.dumps({"fps": frames / seconds, "load_s": load_s, "faces": faces, "version": fer_package.__version__}))
    """
)


def run_fer(python: Path, video: Path) -> dict:
    done = subprocess.run([str(python), "-c", FER_SCRIPT, str(video)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="int8 .tflite [default: the shipped models/edge/edge-int8.tflite]")
    parser.add_argument("--data", type=Path, default=default_data_dir(), help="FER2013 folder root")
    parser.add_argument("--frames", type=int, default=300, help="frames in the benchmark video")
    parser.add_argument("--repeats", type=int, default=1000, help="timed single-face calls per thread count")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved end-to-end rounds; the best FPS of each pipeline is kept")
    parser.add_argument("--fer-venv", type=Path, default=cache_dir() / "bench-fer-venv", help="where fer is installed")
    parser.add_argument("--skip-fer", action="store_true", help="time fer-edge only")
    parser.add_argument("--video-seed", type=int, default=0, help="which faces and places make the video (the detectors' settings were chosen on seed 1)")
    args = parser.parse_args()
    model = args.model or default_model_path()
    data = load_split(args.data, "test")

    print(f"fer-edge runtime benchmark, {date.today()} on {platform.node()} ({platform.machine()}, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}), Python {platform.python_version()}")
    print(f"model {model} ({model.stat().st_size / 1e6:.2f} MB)\n")
    print("int8 classifier, one face per call (as the sidecar says: test-time flip classifies the face and its mirror):")
    for threads in (1, 2):
        median, p90 = per_face_latency(model, data.images, threads, args.repeats)
        print(f"  {threads} thread(s): {median:.2f} ms median, {p90:.2f} ms p90")

    with tempfile.TemporaryDirectory(prefix="fer-edge-bench-") as tmp:
        workdir = Path(tmp)
        video = workdir / "faces.mp4"
        placed = build_video(video, data, args.frames, seed=args.video_seed, pair_every=0, fps=15.0)
        print(f"\nend to end on a {args.frames}-frame 640x480 video, one FER2013 test face per frame (120-200 px, seed {args.video_seed}),")
        print(f"best of {args.rounds} interleaved rounds (the machine may be shared):")
        python, fer_note = None, ""
        if args.skip_fer:
            fer_note = "fer: skipped (--skip-fer)"
        else:
            print(f"  installing fer {FER_VERSION} in {args.fer_venv} ...", flush=True)
            python, status = fer_venv(args.fer_venv)
            if python is None:
                fer_note = f"fer: could not be installed here, so not compared ({status})"
        best: dict[str, tuple[float, dict, str]] = {}
        # fer-edge run's defaults (stages in turn), with --overlap (device/background.py) and, where
        # the sidecar flips, without the flip; then each other --detector with the defaults.
        flips = TFLiteClassifier(model).test_time_flip
        settings = [(DETECTORS[0], None, False), (DETECTORS[0], None, True)]
        settings += [(DETECTORS[0], False, False)] if flips else []
        settings += [(detector, None, False) for detector in DETECTORS[1:]]
        for _ in range(args.rounds):
            for detector, flip, overlap in settings:
                ours = run_fer_edge(video, model, workdir, test_time_flip=flip, overlap=overlap, detector=detector)
                mode = ", test-time flip" if flips and flip is None else (", no flip" if flip is False else "")
                how = "overlapped" if ours["overlapped"] else "in turn"
                name = f"fer-edge run ({detector}, {ours['backend']}, {how}, {ours['threads']} thread{'s' if ours['threads'] > 1 else ''}{mode})"
                stages = ", ".join(f"{k} {v:.1f}" for k, v in ours["ms"].items())
                if ours["fps"] > best.get(name, (0.0,))[0]:
                    best[name] = (ours["fps"], score(placed, data, ours["faces"]), stages)
            if python is not None:
                try:
                    theirs = run_fer(python, video)
                except RuntimeError as exc:
                    fer_note, python = f"fer: installed but failed to run: {exc}", None
                    continue
                name = f"fer {theirs['version']} (Haar + TFLite mini-Xception)"
                if theirs["fps"] > best.get(name, (0.0,))[0]:
                    best[name] = (theirs["fps"], score(placed, data, theirs["faces"]), "")
        fer_fps = next((fps for name, (fps, _, _) in best.items() if name.startswith("fer ")), None)
        print(f"  {'pipeline':<76}{'FPS':>7}{'x fer':>7}{'found':>8}{'acc':>7}{'acc|found':>11}{'spurious':>10}")
        for name, (fps, s, _) in best.items():
            ratio = f"{fps / fer_fps:.2f}" if fer_fps else "-"
            print(f"  {name:<76}{fps:>7.1f}{ratio:>7}{s['found']:>8.1%}{s['accuracy']:>7.1%}{s['accuracy_found']:>11.1%}{s['spurious']:>10d}")
        for name, (_, _, stages) in best.items():
            if stages:
                print(f"  {name} ms/frame: {stages}")
        if fer_note:
            print(f"  {fer_note}")


if __name__ == "__main__":
    main()
