"""Tiny loopback HTTP servers for testing the stage checks' logic: a rate limiter, fixed-answer endpoints."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterator

#: (method, path, body) -> (status, content type, body)
Responder = Callable[[str, str, bytes], tuple[int, str, bytes]]


@contextlib.contextmanager
def serve(responder: Responder) -> Iterator[str]:
    """Serve `responder` on 127.0.0.1 (free port, keep-alive) until the block exits; yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _answer(self, method: str) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, content_type, payload = responder(method, self.path, body)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self):  # noqa: N802
            self._answer("GET")

        def do_POST(self):  # noqa: N802
            self._answer("POST")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class TokenBucket:
    """A per-second limit like Envoy's local rate limit: `limit` requests per second, then 429."""

    def __init__(self, limit: int | None):
        self.limit = limit
        self.window = int(time.monotonic())
        self.used = 0
        self.lock = threading.Lock()

    def __call__(self, method: str, path: str, body: bytes) -> tuple[int, str, bytes]:
        with self.lock:
            now = int(time.monotonic())
            if now != self.window:
                self.window, self.used = now, 0
            self.used += 1
            allowed = self.limit is None or self.used <= self.limit
        if allowed:
            return 200, "application/json", b'{"status": "ok"}\n'
        return 429, "text/plain", b"local_rate_limited"


def json_routes(routes: dict[str, object]) -> Responder:
    """Answer each path (query string ignored) with its JSON document, 404 otherwise."""

    def respond(method: str, path: str, body: bytes) -> tuple[int, str, bytes]:
        document = routes.get(path.split("?", 1)[0])
        if document is None:
            return 404, "application/json", b'{"error": "not found"}'
        return 200, "application/json", json.dumps(document).encode()

    return respond


def text_routes(routes: dict[str, Callable[[], str]]) -> Responder:
    """Answer each path with text produced at request time (e.g. a Prometheus exposition)."""

    def respond(method: str, path: str, body: bytes) -> tuple[int, str, bytes]:
        producer = routes.get(path.split("?", 1)[0])
        if producer is None:
            return 404, "text/plain", b"not found"
        return 200, "text/plain; version=0.0.4", producer().encode()

    return respond
