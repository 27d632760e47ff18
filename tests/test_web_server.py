"""The web view's server (device/web_server.py, device/live_view.py): token, MJPEG framing,
/metrics' format, and viewers that come, stall and go, with frames published as a run does."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from fer_edge.contract import CLASS_NAMES
from fer_edge.device.live_view import LiveView
from fer_edge.device.results import Face, FrameResult, StageTimes
from fer_edge.device.web_server import BOUNDARY, parse_address, serve
from fer_edge.errors import FerEdgeError

pytestmark = pytest.mark.device

#: One line of Prometheus' text format: a HELP or TYPE comment, or a sample with optional labels.
METRIC_LINE = re.compile(
    r'^(# HELP [a-z_]+ .+|# TYPE [a-z_]+ (counter|gauge)|[a-z_]+(\{[a-z_]+="[^"\\]*"(,[a-z_]+="[^"\\]*")*\})? -?[0-9.]+(e[+-]?[0-9]+)?)$'
)


def happy_face(index: int) -> FrameResult:
    probs = np.zeros(len(CLASS_NAMES), np.float32)
    probs[CLASS_NAMES.index("happy")] = 0.8
    probs[CLASS_NAMES.index("sad")] = 0.2
    return FrameResult(index, index / 30, (Face((200, 120, 160, 160), probs),), StageTimes(0.002, 0.003, 0.001))


class Publisher:
    """Publishes frames into a view from a thread, as the run loop does, and times each call."""

    def __init__(self, view: LiveView, per_second: float = 100.0) -> None:
        self.view, self.interval = view, 1.0 / per_second
        self.frames = 0
        self.slowest_publish_s = 0.0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.is_set():
            image = np.zeros((480, 640, 3), np.uint8)  # a new frame each time, numbered
            cv2.putText(image, str(self.frames), (230, 260), cv2.FONT_HERSHEY_SIMPLEX, 2, (255, 255, 255), 3)
            started = time.perf_counter()
            self.view.publish(happy_face(self.frames), image)
            self.slowest_publish_s = max(self.slowest_publish_s, time.perf_counter() - started)
            self.frames += 1
            time.sleep(self.interval)


@pytest.fixture
def live() -> Iterator[tuple[LiveView, Publisher]]:
    view = LiveView(stream_fps=20, quality=70)
    publisher = Publisher(view)
    publisher.thread.start()
    yield view, publisher
    publisher.stop.set()
    publisher.thread.join()
    view.close()


@pytest.fixture
def serving(live):
    """Starts servers of the live view as a test asks, and closes each when the test ends."""
    view, _ = live
    started = []

    def start(address: str, token: str | None = None):
        started.append(serve(view, address, token))
        return started[-1]

    yield start
    for server in started:
        server.close()


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def read_mjpeg_parts(sock_file, count: int) -> list[bytes]:
    """The JPEGs of the next ``count`` parts, each checked against its boundary and Content-Length."""
    parts = []
    while len(parts) < count:
        line = sock_file.readline()
        if line.strip() != f"--{BOUNDARY}".encode():
            continue
        headers = {}
        while (line := sock_file.readline().strip()):
            name, _, value = line.decode().partition(":")
            headers[name.lower()] = value.strip()
        assert headers["content-type"] == "image/jpeg"
        body = sock_file.read(int(headers["content-length"]))
        assert sock_file.read(2) == b"\r\n"
        parts.append(body)
    return parts


def open_stream(base: str, path: str = "/stream.mjpg") -> tuple[socket.socket, object]:
    host, port = base.split("//")[1].split("/")[0].rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    stream = sock.makefile("rb")
    status = stream.readline()
    assert b" 200 " in status, status
    while stream.readline().strip():
        pass
    return sock, stream


def wait_for(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_addresses_are_parsed_and_bad_ones_refused_in_one_line():
    assert parse_address("8000") == ("127.0.0.1", 8000)
    assert parse_address("0.0.0.0:8080") == ("0.0.0.0", 8080)
    assert parse_address("[::1]:9000") == ("::1", 9000)
    for bad in ("http", "host:99999", "host:"):
        with pytest.raises(FerEdgeError, match="--serve"):
            parse_address(bad)


def test_a_port_in_use_is_one_line(live):
    view, _ = live
    first = serve(view, "127.0.0.1:0")
    try:
        port = first.httpd.server_address[1]
        with pytest.raises(FerEdgeError, match=f"--serve 127.0.0.1:{port}: cannot listen"):
            serve(view, f"127.0.0.1:{port}")
    finally:
        first.close()


def test_loopback_needs_no_token_and_the_routes_answer(live, serving):
    view, publisher = live
    server = serving("127.0.0.1:0")
    assert server.token is None and server.url.endswith("/")
    assert wait_for(lambda: publisher.frames > 5)
    status, page, headers = get(server.url)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    # The page loads nothing from elsewhere: no absolute URL in a src or href.
    assert not re.search(rb'(src|href)\s*=\s*"(https?:)?//', page)
    assert b'id="video"' in page and b"stream.mjpg" in page
    status, body, _ = get(server.url + "api/latest")
    latest = json.loads(body)
    assert status == 200 and latest["faces"][0]["emotion"] == "happy" and latest["frame"] <= publisher.frames
    status, _, _ = get(server.url + "nowhere")
    assert status == 404


def test_off_loopback_every_route_needs_the_token(live, serving):
    view, _ = live
    server = serving("0.0.0.0:0")
    token = server.token
    assert token and len(token) >= 16 and f"?token={token}" in server.url
    base = f"http://127.0.0.1:{server.httpd.server_address[1]}/"
    for path in ("", "stream.mjpg", "events", "api/latest", "metrics"):
        status, _, headers = get(base + path)
        assert status == 401 and "Bearer" in headers["WWW-Authenticate"], path
        wrong = token[:-1] + ("x" if token[-1] != "x" else "y")  # one character off
        assert get(base + path + "?token=" + wrong)[0] == 401, path
    assert get(base + "api/latest?token=" + token)[0] == 200
    assert get(base + "metrics", {"Authorization": f"Bearer {token}"})[0] == 200
    # The page sets a cookie, so its own stream and events requests need no token in the URL.
    status, _, headers = get(base + "?token=" + token)
    assert status == 200 and "HttpOnly" in headers["Set-Cookie"] and "SameSite=Strict" in headers["Set-Cookie"]
    cookie = headers["Set-Cookie"].split(";")[0]
    assert get(base + "api/latest", {"Cookie": cookie})[0] == 200


def test_a_given_token_is_required_even_on_loopback_and_a_short_one_refused(live, serving):
    view, _ = live
    with pytest.raises(FerEdgeError, match="--token"):
        serve(view, "127.0.0.1:0", token="short")
    server = serving("127.0.0.1:0", token="correct-horse-battery")
    base = f"http://127.0.0.1:{server.httpd.server_address[1]}/"
    assert get(base + "metrics")[0] == 401
    assert get(base + "metrics?token=correct-horse-battery")[0] == 200


def test_the_stream_is_framed_jpegs_of_the_annotated_frame_at_the_capped_rate(live, serving):
    view, publisher = live
    server = serving("127.0.0.1:0")
    sock, stream = open_stream(server.url)
    try:
        started = time.perf_counter()
        parts = read_mjpeg_parts(stream, 10)
        seconds = time.perf_counter() - started
        frame = cv2.imdecode(np.frombuffer(parts[-1], np.uint8), cv2.IMREAD_COLOR)
        assert frame.shape == (480, 640, 3)
        # The happy face's box is drawn in its colour (yellow in BGR) on the black frame.
        edge = frame[120:122, 210:350].reshape(-1, 3).mean(axis=0)
        assert edge[1] > 150 and edge[2] > 150 and edge[0] < 120, edge
        # 10 frames at no more than 20 per second take at least 9 intervals (the publisher makes 100).
        assert seconds >= 9 / 20 * 0.9, seconds
        assert len(set(parts)) == 10  # each part a new frame
    finally:
        stream.close()
        sock.close()


def test_viewers_that_leave_or_stall_are_cleaned_up_and_never_slow_publishing(live, serving, monkeypatch):
    import fer_edge.device.web_server as web_server

    view, publisher = live
    server = serving("127.0.0.1:0")
    readers = [open_stream(server.url) for _ in range(5)]
    for _, stream in readers:
        read_mjpeg_parts(stream, 1)
    assert wait_for(lambda: view.feed.viewers == 5)
    # A stalled viewer: connects to the stream and never reads. Its socket fills up.
    stalled = socket.create_connection(("127.0.0.1", server.httpd.server_address[1]))
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: x\r\n\r\n")
    assert wait_for(lambda: view.feed.viewers == 6)
    frames_before = publisher.frames
    time.sleep(1.0)
    # The others keep getting frames, and publishing stays a reference swap.
    for _, stream in readers:
        read_mjpeg_parts(stream, 2)
    assert publisher.frames - frames_before > 30
    assert publisher.slowest_publish_s < 0.05, publisher.slowest_publish_s
    for sock, stream in readers:
        stream.close()
        sock.close()
    stalled.close()
    assert wait_for(lambda: view.feed.viewers == 0, seconds=web_server.CLIENT_TIMEOUT_S + 5), view.feed.viewers
    # Metrics say so too.
    _, body, _ = get(server.url + "metrics")
    assert "fer_edge_stream_viewers 0" in body.decode()


def test_metrics_are_prometheus_text_with_the_counts_published(live, serving):
    view, publisher = live
    server = serving("127.0.0.1:0")
    assert wait_for(lambda: publisher.frames > 20)
    status, body, headers = get(server.url + "metrics")
    text = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    lines = text.rstrip("\n").split("\n")
    assert all(METRIC_LINE.match(line) for line in lines), [line for line in lines if not METRIC_LINE.match(line)]
    samples = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in lines if not line.startswith("#")}
    frames = samples["fer_edge_frames_total"]
    assert frames >= 20
    assert samples['fer_edge_faces_total{emotion="happy"}'] >= frames  # one happy face per frame, counted by now
    assert samples['fer_edge_faces_total{emotion="sad"}'] == 0
    assert 20 < samples["fer_edge_fps"] < 150  # published at about 100 per second (less on a busy machine)
    assert samples['fer_edge_stage_milliseconds{stage="detect"}'] == pytest.approx(3.0)
    # Each metric has exactly one HELP and one TYPE line, before its samples.
    for name in ("fer_edge_frames_total", "fer_edge_faces_total", "fer_edge_fps", "fer_edge_stage_milliseconds"):
        assert text.count(f"# TYPE {name} ") == 1 and text.index(f"# TYPE {name} ") < text.index(f"\n{name}")


def test_events_carry_the_state_the_page_shows(live, serving):
    view, publisher = live
    server = serving("127.0.0.1:0")
    sock, stream = open_stream(server.url, "/events")
    try:
        line = b""
        while not line.startswith(b"data: "):
            line = stream.readline()
        state = json.loads(line[len(b"data: ") :])
        assert state["emotions"] == list(CLASS_NAMES)
        assert state["faces"]["happy"] > 0 and state["frames"] > 0
        assert state["timeline"] and len(state["timeline"][-1]["counts"]) == len(CLASS_NAMES)
    finally:
        stream.close()
        sock.close()


def test_closing_the_server_ends_open_streams(live):
    view, _ = live
    server = serve(view, "127.0.0.1:0")
    sock, stream = open_stream(server.url)
    read_mjpeg_parts(stream, 1)
    started = time.perf_counter()
    server.close()
    assert time.perf_counter() - started < 5
    # The stream's connection ends: reading runs dry instead of hanging.
    sock.settimeout(5)
    while stream.read(65536):
        pass
    assert wait_for(lambda: view.feed.viewers == 0)
    sock.close()


def test_the_server_ends_with_the_run_and_the_summary_is_printed(test_split, tmp_path):
    """A run on a video serves while it plays, beside --json and --record; at the video's end the
    open stream closes and the summary is printed as without --serve."""
    from fer_edge.device.runner import run
    from fer_edge.placed_faces import build_video

    video = build_video(tmp_path / "faces.mp4", test_split, 40, seed=2, fps=20.0)
    lines: list[str] = []
    got: dict = {}

    def watch(url: str) -> None:
        sock, stream = open_stream(url)
        got["first"] = read_mjpeg_parts(stream, 1)
        sock.settimeout(30)
        while stream.read(65536):  # until the server closes the stream
            pass
        got["closed"] = time.perf_counter()
        sock.close()

    def log(text: str) -> None:
        lines.append(text)
        found = re.search(r"web view: (http://\S+)", text)
        if found:
            threading.Thread(target=watch, args=(found.group(1),), daemon=True).start()
            time.sleep(1.0)  # the viewer connects while the video plays

    summary = run(camera=str(video.path), display=False, serve="127.0.0.1:0", realtime=True, log=log,
                  json_out=tmp_path / "faces.jsonl", record=tmp_path / "annotated.mp4")  # fmt: skip
    ended = time.perf_counter()
    assert summary.frames == 40 and summary.stopped == "end of source"
    # Beside the other outputs, which are written as without --serve.
    assert len((tmp_path / "faces.jsonl").read_text().splitlines()) == 40
    recorded = cv2.VideoCapture(str(tmp_path / "annotated.mp4"))
    assert int(recorded.get(cv2.CAP_PROP_FRAME_COUNT)) == 40
    recorded.release()
    assert re.search(r"40 frames, \d+ faces .* FPS \[end of source\]", "\n".join(lines))
    assert wait_for(lambda: "closed" in got, seconds=10), "the stream stayed open after the run"
    assert got["first"] and got["closed"] - ended < 5


def test_bad_serve_options_are_one_line_before_the_camera_is_opened(edge_int8_model):
    from clitools import assert_one_line_error, fer_edge

    # Camera 7 does not exist: the options are refused before the run gets that far.
    for args, fragments in (
        (["--serve", "abc"], ("--serve abc", "[HOST:]PORT")),
        (["--serve", "8000", "--token", "short"], ("--token", "8 characters")),
        (["--token", "long-enough-token"], ("--token", "--serve")),
        (["--serve", "8000", "--stream-fps", "0"], ("--stream-fps",)),
        (["--stream-fps", "5"], ("--stream-fps is for the web view", "--serve")),
        (["--stream-quality", "50"], ("--stream-quality is for the web view", "--serve")),
    ):
        done = fer_edge("run", "--camera", 7, "--model", edge_int8_model, "--no-display", *args, check=False)
        assert_one_line_error(done, *fragments)
        assert "camera 7" not in done.stderr
