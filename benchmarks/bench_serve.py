#!/usr/bin/env python3
"""Benchmark the web view's cost: pipeline FPS with and without stream viewers, and memory.

``fer-edge run`` goes through a 640x480 video of placed FER2013 test faces (built in memory,
never kept), looped for ``--seconds``, once without ``--serve`` and once with it and
``--viewers`` clients reading ``/stream.mjpg`` on loopback (plus one polling ``/metrics`` every
second), in interleaved rounds. The clients run in a separate process, as a browser would, and
make a bounded number of requests: one stream each, held for the run.

Prints per round the FPS without and with viewers, the share lost, the frames each viewer got
per second, and the process's resident memory at the start, middle and end of the run with
viewers (flat means the server holds no per-frame state). Figures depend on the machine: the
header names it, the date and the model.

    python benchmarks/bench_serve.py                      # 10 viewers, 30 s per run, 2 rounds
    python benchmarks/bench_serve.py --seconds 5 --rounds 1 --viewers 2   # a smoke run
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import re
import socket
import threading
import time
import urllib.request
from datetime import date

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from fer_edge.dataset import default_data_dir, load_split  # noqa: E402
from fer_edge.device.runner import default_model_path, run  # noqa: E402
from fer_edge.device.sources import Frame, FrameSource  # noqa: E402
from fer_edge.placed_faces import place_faces  # noqa: E402


class LoopedFrames(FrameSource):
    """Frames held in memory, played in a loop for ``seconds`` (a file source: not retried)."""

    def __init__(self, frames: list[np.ndarray], seconds: float, fps: float = 30.0) -> None:
        self.frames, self.seconds = frames, seconds
        self.name, self.live, self.fps = "looped placed-face frames", False, fps
        self._index = 0
        self._started: float | None = None

    def read(self) -> Frame | None:
        now = time.perf_counter()
        self._started = self._started or now
        if now - self._started >= self.seconds:
            return None
        image = self.frames[self._index % len(self.frames)]
        self._index += 1
        return Frame(image, self._index / self.fps)


def placed_frames(count: int, seed: int) -> list[np.ndarray]:
    """``count`` 640x480 noise frames, each with one test face of 120-200 px."""
    return place_faces(load_split(default_data_dir(), "test"), count, (120, 200), seed).frames


def resident_mb() -> float:
    with open("/proc/self/status") as status:
        return int(re.search(r"VmRSS:\s+(\d+) kB", status.read()).group(1)) / 1024


def read_stream(url: str, seconds: float, results: list) -> None:
    """One viewer: reads /stream.mjpg for ``seconds`` and counts the JPEGs it got."""
    host, port = url.split("//")[1].split("/")[0].rsplit(":", 1)
    jpegs = 0
    try:
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(f"GET /stream.mjpg HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                chunk = sock.recv(1 << 16)
                if not chunk:
                    break
                jpegs += chunk.count(b"Content-Type: image/jpeg")
    except OSError:
        pass
    results.append(jpegs)


def viewers_process(url: str, viewers: int, seconds: float, queue) -> None:
    """``viewers`` stream readers and one /metrics poller, in a process of their own."""
    results: list[int] = []
    threads = [threading.Thread(target=read_stream, args=(url, seconds, results)) for _ in range(viewers)]
    for thread in threads:
        thread.start()
    polls = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "metrics", timeout=5).read()
            polls += 1
        except OSError:
            pass
        time.sleep(1.0)
    for thread in threads:
        thread.join()
    queue.put((results, polls))


def one_run(frames: list[np.ndarray], seconds: float, viewers: int) -> dict:
    """FPS of one run; with ``viewers``, also what they got and the memory along the way."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    started: list = []
    memory: list[float] = []
    stop = threading.Event()

    def sample_memory() -> None:
        while not stop.wait(1.0):
            memory.append(resident_mb())

    def log(text: str) -> None:
        found = re.search(r"web view: (http://\S+)", text)
        if found and viewers:
            process = context.Process(target=viewers_process, args=(found.group(1), viewers, seconds - 2, queue))
            process.start()
            started.append(process)

    sampler = threading.Thread(target=sample_memory, daemon=True)
    memory.append(resident_mb())
    sampler.start()
    summary = run(
        LoopedFrames(frames, seconds), model=default_model_path(), display=False, serve="127.0.0.1:0" if viewers else None, log=log,
        json_out=os.devnull,
    )  # fmt: skip
    stop.set()
    result = {"fps": summary.fps, "frames": summary.frames}
    if started:
        jpegs, polls = queue.get(timeout=60)
        started[0].join()
        result.update(viewer_fps=float(np.mean(jpegs)) / (seconds - 2), viewers_served=sum(j > 0 for j in jpegs), polls=polls, memory=memory)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each run")
    parser.add_argument("--viewers", type=int, default=10, help="concurrent /stream.mjpg clients")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds of (without, with)")
    parser.add_argument("--frames", type=int, default=120, help="distinct frames in the loop")
    args = parser.parse_args()

    model = default_model_path()
    print(f"# web view cost, {date.today()}, {platform.machine()} {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}")
    from fer_edge.device.interpreter import backend_version, make_interpreter

    interpreter_backend = make_interpreter(str(model), num_threads=1)[1]
    print(f"# interpreter {interpreter_backend} {backend_version(interpreter_backend)}; OpenCV {cv2.__version__}")
    print(f"# model {model}; {args.viewers} stream viewers + 1 /metrics poll per second on loopback; {args.seconds:g} s per run")
    frames = placed_frames(args.frames, seed=5)
    print("| round | FPS without viewers | FPS with viewers | FPS lost | frames per viewer per s | viewers served | RSS MB start / middle / end |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    one_run(frames, 3.0, 0)  # warm-up: the interpreter's first frames and the caches
    losses = []
    for round_index in range(1, args.rounds + 1):
        alone = one_run(frames, args.seconds, 0)
        watched = one_run(frames, args.seconds, args.viewers)
        lost = 1 - watched["fps"] / alone["fps"]
        losses.append(lost)
        memory = watched["memory"]
        rss = f"{memory[0]:.0f} / {memory[len(memory) // 2]:.0f} / {memory[-1]:.0f}"
        print(
            f"| {round_index} | {alone['fps']:.1f} | {watched['fps']:.1f} | {lost:.1%} | {watched['viewer_fps']:.1f} | "
            f"{watched['viewers_served']} of {args.viewers} | {rss} |",
            flush=True,
        )
    print(f"mean FPS lost with {args.viewers} viewers: {np.mean(losses):.1%}")


if __name__ == "__main__":
    main()
