"""``fer-edge run --serve``: a small HTTP server for watching a run from any browser.

Routes: ``/`` (one self-contained page: the live video, FPS, counts per emotion, a timeline),
``/stream.mjpg`` (``multipart/x-mixed-replace`` JPEG frames), ``/events`` (server-sent events
that update the page), ``/api/latest`` (the newest frame as a ``--json`` line) and ``/metrics``
(Prometheus text format).

Bound to loopback it needs no token. Bound to any other address every request must carry the
token (``?token=``, an ``Authorization: Bearer`` header, or the cookie the page sets), compared in
constant time; without it the answer is 401. The standard library's threading server is enough
for a handful of viewers on a Pi: one thread per connection, none of them in the run's way
(:mod:`fer_edge.device.live_view`). Nothing is written to disk.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import secrets
import socket
import threading
from http import HTTPStatus
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from fer_edge.contract import CLASS_NAMES
from fer_edge.device.live_view import TIMELINE_SECONDS, LiveView
from fer_edge.device.results import PALETTE
from fer_edge.errors import FerEdgeError

DEFAULT_HOST = "127.0.0.1"
BOUNDARY = "fer-edge-frame"
COOKIE = "fer_edge_token"
PAGE_FILE = Path(__file__).with_name("web_page.html")
#: How often /events sends the page a new state.
EVENT_INTERVAL_S = 1.0
#: A viewer whose socket takes no data for this long is dropped.
CLIENT_TIMEOUT_S = 10.0


def parse_address(spec: str) -> tuple[str, int]:
    """``PORT``, ``HOST:PORT`` or ``[IPv6]:PORT`` -> (host, port); the host defaults to loopback."""
    host, _, port = spec.rpartition(":")
    host = host.strip("[]") or DEFAULT_HOST
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise FerEdgeError(f"--serve {spec}: give [HOST:]PORT, e.g. 8000 or 0.0.0.0:8000 (port 0-65535)")
    return host, number


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def metrics_text(view: LiveView) -> str:
    """The run's counters and gauges in Prometheus' text exposition format (version 0.0.4)."""
    stats = view.stats
    lines = [
        "# HELP fer_edge_frames_total Frames processed since the run started.",
        "# TYPE fer_edge_frames_total counter",
        f"fer_edge_frames_total {stats.frames}",
        "# HELP fer_edge_faces_total Faces classified since the run started, by emotion.",
        "# TYPE fer_edge_faces_total counter",
        *(f'fer_edge_faces_total{{emotion="{name}"}} {count}' for name, count in dict(stats.faces).items()),
        "# HELP fer_edge_fps Frames per second over the last few seconds.",
        "# TYPE fer_edge_fps gauge",
        f"fer_edge_fps {stats.fps():.3f}",
        "# HELP fer_edge_stage_milliseconds Mean milliseconds per frame spent in each stage over the last few seconds.",
        "# TYPE fer_edge_stage_milliseconds gauge",
        *(f'fer_edge_stage_milliseconds{{stage="{stage}"}} {ms:.3f}' for stage, ms in stats.stage_ms().items()),
        "# HELP fer_edge_stream_viewers Clients connected to /stream.mjpg.",
        "# TYPE fer_edge_stream_viewers gauge",
        f"fer_edge_stream_viewers {view.feed.viewers}",
    ]
    return "\n".join(lines) + "\n"


def page_html() -> bytes:
    """The page, with the class names and their box colours (RGB) filled in."""
    config = {
        "emotions": list(CLASS_NAMES),
        "colors": ["#%02x%02x%02x" % (r, g, b) for b, g, r in PALETTE],
        "timeline_seconds": TIMELINE_SECONDS,
    }
    return PAGE_FILE.read_text(encoding="utf-8").replace("/*CONFIG*/{}", json.dumps(config)).encode("utf-8")


class WebServer:
    """The server of one run: started by :func:`serve`, stopped by :meth:`close` when the run ends."""

    def __init__(self, httpd: ThreadingHTTPServer, token: str | None) -> None:
        self.httpd = httpd
        self.token = token
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, name="fer-edge-web", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        if host in ("0.0.0.0", "::"):  # every interface: name the machine as others on the network reach it
            host = socket.gethostname()
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/" + (f"?token={self.token}" if self.token else "")

    def close(self) -> None:
        """Stop accepting, end every stream and event connection, and close the socket."""
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)


def check_options(address: str, token: str | None) -> tuple[str, int]:
    """``--serve`` and ``--token`` checked before a run starts: the host and port, or one line."""
    if token is not None and len(token) < 8:
        raise FerEdgeError("--token: use at least 8 characters (or leave it out: one is generated and printed)")
    return parse_address(address)


def serve(view: LiveView, address: str, token: str | None = None) -> WebServer:
    """Start serving ``view`` at ``address`` (``[HOST:]PORT``) in background threads.

    Off loopback a token is required: ``token``, or a new random one (say it with ``.url``).
    """
    host, port = check_options(address, token)
    if token is None and not is_loopback(host):
        token = secrets.token_urlsafe(18)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    server_class = type("FerEdgeHTTPServer", (ThreadingHTTPServer,), {"address_family": family, "daemon_threads": True})
    try:
        httpd = server_class((host, port), make_handler(view, token))
    except (OSError, OverflowError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise FerEdgeError(f"--serve {address}: cannot listen there ({reason}); choose another port or address") from None
    server = WebServer(httpd, token)
    httpd.fer_edge = server  # the handlers' way back to the stop flag
    return server


def make_handler(view: LiveView, token: str | None) -> type[BaseHTTPRequestHandler]:
    """The request handler class of one server, bound to its view and token."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "fer-edge"
        timeout = CLIENT_TIMEOUT_S

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
            """Quiet: a run's output is its own lines, not an access log."""

        @property
        def stopping(self) -> threading.Event:
            return self.server.fer_edge.stopping

        def do_GET(self) -> None:  # noqa: N802 - the base class's naming
            url = urlsplit(self.path)
            if not self.authorized(url.query):
                self.send_text(HTTPStatus.UNAUTHORIZED, "401 Unauthorized: add ?token=TOKEN (printed when fer-edge run started)\n",
                               {"WWW-Authenticate": 'Bearer realm="fer-edge"'})  # fmt: skip
                return
            routes = {
                "/": self.send_page,
                "/index.html": self.send_page,
                "/stream.mjpg": self.send_stream,
                "/events": self.send_events,
                "/api/latest": self.send_latest,
                "/metrics": self.send_metrics,
            }
            route = routes.get(url.path)
            if route is None:
                self.send_text(HTTPStatus.NOT_FOUND, "404 Not Found: try /, /stream.mjpg, /api/latest or /metrics\n")
                return
            try:
                route()
            except (BrokenPipeError, ConnectionResetError, TimeoutError, socket.timeout):
                pass  # the client went away (or stopped reading): its thread ends here

        def authorized(self, query: str) -> bool:
            if token is None:
                return True
            offered = parse_qs(query).get("token", [])
            bearer = self.headers.get("Authorization", "")
            if bearer.startswith("Bearer "):
                offered.append(bearer[len("Bearer ") :])
            cookie = SimpleCookie(self.headers.get("Cookie", ""))
            if COOKIE in cookie:
                offered.append(cookie[COOKIE].value)
            expected = token.encode()
            return any(hmac.compare_digest(candidate.encode(), expected) for candidate in offered)

        def send_text(self, status: HTTPStatus, text: str, headers: dict[str, str] | None = None, content_type: str = "text/plain; charset=utf-8") -> None:
            body = text.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def send_page(self) -> None:
            body = page_html()
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            # The page loads nothing from elsewhere; say so to the browser too.
            self.send_header("Content-Security-Policy", "default-src 'self'; img-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'")
            if token is not None:  # the stream and events requests of the page then carry it
                self.send_header("Set-Cookie", f"{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/")
            self.end_headers()
            self.wfile.write(body)

        def send_latest(self) -> None:
            latest = view.stats.latest
            self.send_text(HTTPStatus.OK, (latest.to_json() if latest else "null") + "\n", content_type="application/json")

        def send_metrics(self) -> None:
            self.send_text(HTTPStatus.OK, metrics_text(view), content_type="text/plain; version=0.0.4; charset=utf-8")

        def send_stream(self) -> None:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "close")
            self.end_headers()
            number = 0
            with view.feed.watching():
                while not self.stopping.is_set():
                    jpeg = view.feed.next_after(number, timeout=0.5)
                    if jpeg is None:
                        continue
                    number = jpeg.number
                    self.wfile.write(mjpeg_part(jpeg.data))
                    self.wfile.flush()

        def send_events(self) -> None:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "close")
            self.end_headers()
            while True:
                state = {**view.stats.snapshot(), "viewers": view.feed.viewers}
                self.wfile.write(f"data: {json.dumps(state, separators=(',', ':'))}\n\n".encode("utf-8"))
                self.wfile.flush()
                if self.stopping.wait(EVENT_INTERVAL_S):
                    return

    return Handler


def mjpeg_part(jpeg: bytes) -> bytes:
    """One part of a ``multipart/x-mixed-replace`` stream: boundary, headers, the JPEG."""
    head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode("ascii")
    return head + jpeg + b"\r\n"
