"""``fer-edge run``: read frames, find and classify faces, show, record and stream the results.

The loop and its bookkeeping live here: which model and source, retries for a live camera that
drops frames, where each output goes, and the summary printed at the end (also on Ctrl-C and on
SIGTERM, which is how systemd stops a service). The per-frame work is
:class:`~fer_edge.device.pipeline.FacePipeline`.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from fer_edge.device.background import in_background
from fer_edge.device.classifier import TFLiteClassifier
from fer_edge.device.detector import make_detector
from fer_edge.device.interpreter import backend_version
from fer_edge.device.live_view import LiveView
from fer_edge.device.outputs import JsonLines, OutputError, VideoRecorder, open_window
from fer_edge.device.pacing import Pacer
from fer_edge.device.pipeline import Detected, FacePipeline
from fer_edge.device.results import RunSummary
from fer_edge.device.smoothing import FaceSmoother
from fer_edge.device.sources import Frame, FrameSource, ImageSource, open_source
from fer_edge.errors import FerEdgeError
from fer_edge.files import check_no_clash
from fer_edge.sidecar import sidecar_path

#: The shipped int8 model, inside the ``fer_edge.models`` package data (``models/`` in a clone).
DEFAULT_MODEL = Path("edge") / "edge-int8.tflite"
#: How long a live source may deliver nothing before the run ends.
RETRY_SECONDS = 10.0
RETRY_PAUSE_S = 0.1
#: The web view's defaults: frames a second to each viewer, and JPEG quality.
STREAM_FPS, STREAM_QUALITY = 15.0, 70
#: Reopen a live source after this many failed reads in a row.
REOPEN_EVERY = 20


def default_model_path() -> Path:
    """The shipped model: package data of an installed fer-edge (``fer_edge/models/``), else
    ``models/`` of the clone an editable install runs from."""
    import fer_edge

    package = Path(fer_edge.__file__).resolve().parent
    folders = (package / "models", package.parent / "models")
    for folder in folders:
        if (folder / DEFAULT_MODEL).is_file():
            return folder / DEFAULT_MODEL
    raise FerEdgeError(
        f"no --model given and the shipped model {DEFAULT_MODEL} is in neither {folders[0]} nor {folders[1]}; "
        "reinstall fer-edge, or pass --model FILE.tflite (with its .json sidecar)"
    )


def default_threads() -> int:
    """Interpreter threads: 2 where there are 2 cores or more.

    A 48x48 face is a small job that gains little from more threads, and threads that compete with
    another busy process wait on each other (benchmarks/README.md has the figures). Two threads
    leave a Pi's other cores to the camera and the detector.
    """
    return max(1, min(2, os.cpu_count() or 1))


def read_frame(source: FrameSource, retry_s: float = RETRY_SECONDS, stop: threading.Event | None = None) -> Frame | None:
    """The next frame; a live source that drops out is retried (and reopened) for ``retry_s``.

    ``stop`` ends the retrying early (the run is being stopped while a background thread reads).
    """
    frame = source.read()
    if frame is not None or not source.live:
        return frame
    deadline = time.perf_counter() + retry_s
    failures = 1
    while time.perf_counter() < deadline and not (stop is not None and stop.is_set()):
        time.sleep(RETRY_PAUSE_S)
        if failures % REOPEN_EVERY == 0:
            source.reopen()
        frame = source.read()
        if frame is not None:
            return frame
        failures += 1
    return None


def detected_frames(
    source: FrameSource, pipeline: FacePipeline, retry_s: float, stop: threading.Event | None = None, pacer: Pacer | None = None
) -> Iterator[tuple[Frame, Detected, float]]:
    """Each frame of ``source`` with its detected faces and the seconds its read took, until it
    ends; with a ``pacer``, each frame waits for its time first (``--realtime``)."""
    while True:
        started = time.perf_counter()
        frame = read_frame(source, retry_s, stop)
        if frame is None:
            return
        read_s = time.perf_counter() - started
        if pacer is not None:
            pacer.wait(frame)
        yield frame, pipeline.detect(frame.image), read_s


def stage_threads(threads: int | None, overlap: bool) -> tuple[int, int]:
    """Interpreter and OpenCV threads: all cores shared in turn, or split between overlapping stages.

    Overlapped, detection and classification each get half the cores (1 and 1 on 2 cores, 2 and
    2 on a Pi's 4): threads of two stages that compete for the same cores wait on each other.
    """
    cores = os.cpu_count() or 1
    share = max(1, cores // 2) if overlap else cores
    return threads or min(default_threads(), share), share


@contextmanager
def detector_threads(count: int) -> Iterator[None]:
    """OpenCV's thread count for the run (a process-wide setting), restored afterwards."""
    import cv2

    previous = cv2.getNumThreads()
    cv2.setNumThreads(count)
    try:
        yield
    finally:
        cv2.setNumThreads(previous)


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Let ``systemctl stop`` end the run like Ctrl-C does: cleanly, with the summary."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def silence_stdout() -> None:
    """Point stdout at /dev/null once its reader has gone (``| head``), so no later print or
    exit-time flush raises BrokenPipeError again (the Python docs' recipe for SIGPIPE)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def no_frame_error(source: FrameSource, retry_s: float) -> FerEdgeError:
    unread = source.unread_error()
    if unread is not None:
        return unread
    if source.live:
        hint = "; for the Pi camera module use --camera picam" if source.name.startswith("camera") else ""
        return FerEdgeError(f"--camera {source.name}: opened but delivered no frame in {retry_s:.0f} s{hint}")
    return FerEdgeError(f"{source.name}: no frame could be decoded (corrupt or unsupported video)")


def run(
    camera: str | FrameSource = "auto",
    model: str | os.PathLike[str] | None = None,
    display: bool = True,
    json_out: str | os.PathLike[str] | None = None,
    record: str | os.PathLike[str] | None = None,
    max_frames: int | None = None,
    smooth: bool | None = None,
    verbose: bool = False,
    threads: int | None = None,
    detector: str | None = None,
    detect_width: int | None = None,
    min_face_score: float | None = None,
    detect_every: int = 1,
    test_time_flip: bool | None = None,
    overlap: bool = False,
    append: bool = False,
    serve: str | None = None,
    token: str | None = None,
    stream_fps: float | None = None,
    stream_quality: int | None = None,
    realtime: bool = False,
    retry_s: float = RETRY_SECONDS,
    log: Callable[[str], None] | None = None,
) -> RunSummary:
    """Run the live pipeline on ``camera`` until it ends, ``max_frames``, q/Esc, Ctrl-C or SIGTERM.

    ``camera`` is a ``--camera`` value or an already open :class:`FrameSource` (which is closed).

    ``smooth=None`` smooths live sources (cameras, streams) and not files. ``test_time_flip=None``
    does what the model's sidecar says (its recorded accuracy was measured that way); off halves
    the time per face at some accuracy. ``detect_every`` > 1 detects faces on every Nth frame
    only. ``overlap`` reads and detects the next frame while the current one is classified
    (device/background.py says when that pays). ``append`` adds to an existing ``json_out`` file
    instead of replacing it. ``serve`` (``[HOST:]PORT``) starts the web view
    (device/web_server.py) for the run's length, with ``token`` required off loopback and the
    stream capped at ``stream_fps`` frames (15) of JPEG ``stream_quality`` (70). ``realtime`` plays a file at
    the pace it was recorded. Notes and the summary go to ``log`` (stdout, or stderr when the JSON
    lines take stdout).
    """
    if log is None:
        stream = sys.stderr if str(json_out) == "-" else sys.stdout
        log = lambda text: print(text, file=stream, flush=True)  # noqa: E731
    if max_frames is not None and max_frames < 1:
        raise FerEdgeError(f"--max-frames {max_frames}: must be at least 1")
    if threads is not None and threads < 1:
        raise FerEdgeError(f"--threads {threads}: must be at least 1")
    if append and (json_out is None or str(json_out) == "-"):
        raise FerEdgeError("--append adds to a --json FILE; give one")
    for option, value in (("--token", token), ("--stream-fps", stream_fps), ("--stream-quality", stream_quality)):
        if serve is None and value is not None:
            raise FerEdgeError(f"{option} is for the web view: add --serve [HOST:]PORT")
    stream_fps = STREAM_FPS if stream_fps is None else stream_fps
    stream_quality = STREAM_QUALITY if stream_quality is None else stream_quality
    if not 0 < stream_fps <= 60:
        raise FerEdgeError(f"--stream-fps {stream_fps:g}: must be above 0 and at most 60")
    if not 10 <= stream_quality <= 100:
        raise FerEdgeError(f"--stream-quality {stream_quality}: must be between 10 and 100 (JPEG quality)")
    if serve is not None:
        from fer_edge.device.web_server import check_options

        check_options(serve, token)  # before the model and the camera are opened
    threads, cv2_threads = stage_threads(threads, overlap)
    model_path = Path(model) if model is not None else default_model_path()
    camera_path = Path(camera) if isinstance(camera, str) and camera.strip() and Path(camera).exists() else None
    check_no_clash(
        {"--json": json_out, "--record": record},
        {"--model": model_path, "--model's sidecar": sidecar_path(model_path), "--camera": camera_path},
    )
    classifier = TFLiteClassifier(model_path, num_threads=threads, test_time_flip=test_time_flip, require_sidecar=True)
    face_detector = make_detector(detector, detect_width=detect_width, min_score=min_face_score, every=detect_every, threads=threads)
    source = camera if isinstance(camera, FrameSource) else open_source(camera)
    if detect_every > 1 and isinstance(source, ImageSource):
        source.close()
        raise FerEdgeError(f"--detect-every {detect_every}: for video and cameras; {source.name} is images, each detected on its own")
    pacer = Pacer() if realtime and not source.live else None
    smooth = source.live if smooth is None else smooth
    pipeline = FacePipeline(classifier, face_detector, FaceSmoother() if smooth else None)
    if verbose:
        log(
            f"interpreter: {classifier.backend} {backend_version(classifier.backend)} ({threads} thread(s)); OpenCV: {cv2_threads} thread(s)"
            f"{', overlapping classification (next frame detected meanwhile)' if overlap else ''}; model {model_path} "
            f"[input {classifier.input_dtype.name}, scale {classifier.input_scale:g}, zero point {classifier.input_zero_point:g}"
            f"{', test-time flip' if classifier.test_time_flip else ''}]"
        )
        log(
            f"source: {source.name} ({'live' if source.live else 'file'}{f', {source.fps:g} fps' if source.fps else ''}); "
            f"detector: {face_detector.describe()}; "
            f"face margin {pipeline.margin:g}; smoothing {'on' if smooth else 'off'}"
        )
    if classifier.backend == "tensorflow":
        # The last resort: a Pi setup that fell through to it has a broken light runtime (say,
        # tflite-runtime against NumPy 2) and pays TensorFlow's memory and start-up for it.
        log("note: no tflite_runtime or ai_edge_litert could be imported; using TensorFlow's interpreter (--verbose says more)")
    window = None
    live_view = web = None
    outputs: list = []
    summary = RunSummary(source.name, str(model_path), classifier.backend, threads, overlapped=overlap)
    stopped = "end of source"
    failure: OutputError | None = None
    try:
        if display:
            window, reason = open_window()
            if reason:
                log(f"note: no preview window: {reason}; running headless (--no-display skips this check)")
        if window is not None:
            outputs.append(window)
        json_lines = JsonLines(json_out, append=append, log=log) if json_out is not None else None
        recorder = VideoRecorder(record, source.fps) if record is not None else None
        outputs += [o for o in (json_lines, recorder) if o is not None]
        if serve is not None:
            from fer_edge.device.web_server import serve as start_web_server

            live_view = LiveView(stream_fps, stream_quality)
            outputs.append(live_view)
            web = start_web_server(live_view, serve, token)
            log(f"web view: {web.url}" + ("" if web.token is None else "  (every request needs the token; keep it private)"))
        print_frames = window is None and json_lines is None and recorder is None and web is None
        with sigterm_as_interrupt(), detector_threads(cv2_threads):
            if overlap:
                stop = threading.Event()
                frames = in_background(detected_frames(source, pipeline, retry_s, stop, pacer), stop=stop)
            else:
                frames = detected_frames(source, pipeline, retry_s, pacer=pacer)
            try:
                index = 0
                last_frame_at = time.perf_counter()
                for frame, detected, read_s in frames:
                    last_frame_at = time.perf_counter()
                    result = pipeline.classify(detected, index, frame.time, read_s=read_s, source=frame.name)
                    summary.add(result)
                    if json_lines is not None:
                        json_lines.write(result)
                    if live_view is not None:
                        live_view.publish(result, frame.image)
                    if window is not None or recorder is not None:
                        canvas = result.draw(frame.image)
                        if recorder is not None:
                            recorder.write(canvas)
                        if window is not None and not window.show(canvas):
                            stopped = "window closed"
                            index += 1
                            break
                    if print_frames:
                        log(str(result))
                    index += 1
                    if max_frames is not None and index >= max_frames:
                        stopped = f"--max-frames {max_frames}"
                        break
                else:
                    if index == 0:
                        raise no_frame_error(source, retry_s)
                    # Reopening a camera can block, so the wait may run past retry_s: say how long it was.
                    stopped = f"no frame for {time.perf_counter() - last_frame_at:.0f} s" if source.live else "end of source"
            except KeyboardInterrupt:
                stopped = "interrupted"
            except BrokenPipeError:  # `fer-edge run --json - | head`: the reader has gone
                stopped = "output closed"
                silence_stdout()
            except OutputError as exc:  # a full disk: the summary first, then the one-line error
                stopped = "output failed"
                failure = exc
            finally:
                frames.close()  # stops and waits for the detecting thread before the source closes
    finally:
        if web is not None:
            web.close()
        for output in outputs:
            try:
                output.close()
            except OutputError as exc:  # a recording that could not be finished whole
                stopped, failure = "output failed", failure or exc
        source.close()
    summary.finish(stopped)
    log(summary.table())
    unread = source.unread_error()  # images skipped; those that could be read are processed, their outputs whole
    if failure is not None and unread is not None:
        log(f"note: {unread}")
    if failure is not None or unread is not None:
        raise failure or unread
    return summary
