"""The HTTP service: workflow API routes, probes, /metrics, /admin/faults, ECS JSON logs, graceful SIGTERM."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from reference_service.faults import FaultSwitch
from reference_service.metrics import ServiceMetrics

#: Routes counted in the request metrics; probes, /metrics and /admin are not user traffic.
WORKFLOW_ROUTE = re.compile(r"^/workflows/(?P<id>[A-Za-z0-9-]+)$")
RUN_ROUTE = re.compile(r"^/workflows/(?P<id>[A-Za-z0-9-]+)/run$")
BASE_QUERY_SECONDS = (0.001, 0.006)


class Logger:
    """ECS-shaped JSON lines on stdout."""

    def __init__(self, service: str, stream=None):
        self.service = service
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()

    def log(self, level: str, message: str, **fields) -> None:
        record = {
            "@timestamp": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "log.level": level,
            "message": message,
            "service.name": self.service,
            "ecs.version": "8.11.0",
            **{key: value for key, value in fields.items() if value is not None},
        }
        with self._lock:
            self.stream.write(json.dumps(record, sort_keys=True) + "\n")
            self.stream.flush()


class WorkflowService:
    """State shared by all request threads."""

    def __init__(self, service: str = "workflow-service", faults: FaultSwitch | None = None, environ=None):
        self.service = service
        self.faults = faults or FaultSwitch.from_environment(environ)
        self.metrics = ServiceMetrics(service)
        self.logger = Logger(service)
        self.environ = dict(os.environ if environ is None else environ)
        self.workflows: dict[str, dict] = {}
        self.cache: set[str] = set()
        self.lock = threading.Lock()
        self.shutting_down = threading.Event()

    # -- simulated dependencies ------------------------------------------------

    def query(self) -> None:
        """One database query: a short real sleep, or a slow one when the fault says so."""
        faults = self.faults.current()
        seconds = random.uniform(*BASE_QUERY_SECONDS)
        if random.random() < faults.slow_query_ratio:
            seconds = faults.slow_query_seconds
        time.sleep(seconds)
        self.metrics.db_duration.observe(seconds, service=self.service)

    def cache_lookup(self, workflow_id: str) -> bool:
        faults = self.faults.current()
        with self.lock:
            hit = workflow_id in self.cache and random.random() >= faults.cache_miss_ratio
        self.metrics.cache.inc(service=self.service, result="hit" if hit else "miss")
        return hit

    def dependencies_ready(self) -> list[str]:
        """Problems reaching DATABASE_HOST / REDIS_HOST over TCP (only those configured)."""
        problems = []
        for name, host_var, port_var, default_port in (
            ("database", "DATABASE_HOST", "DATABASE_PORT", 5432),
            ("cache", "REDIS_HOST", "REDIS_PORT", 6379),
        ):
            host = self.environ.get(host_var)
            if not host:
                continue
            port = int(self.environ.get(port_var, default_port))
            try:
                with socket.create_connection((host, port), timeout=1.0):
                    pass
            except OSError as error:
                problems.append(f"{name} {host}:{port} unreachable: {error}")
        return problems


class Handler(BaseHTTPRequestHandler):
    server_version = "reference-workflow-service"
    protocol_version = "HTTP/1.1"
    app: WorkflowService  # set by make_server

    def log_message(self, format, *args):  # noqa: A002 - http.server API
        pass  # access logs are written as ECS JSON in _finish

    # -- plumbing --------------------------------------------------------------

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return {}
        data = json.loads(self.rfile.read(length) or b"{}")
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        return data

    def _send(self, status: int, payload, content_type: str = "application/json") -> None:
        body = payload if isinstance(payload, bytes) else (json.dumps(payload) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _trace_id(self) -> str:
        parent = self.headers.get("traceparent", "")
        parts = parent.split("-")
        return parts[1] if len(parts) == 4 else (self.headers.get("X-Request-ID") or uuid.uuid4().hex)

    # -- dispatch ----------------------------------------------------------------

    def do_GET(self):  # noqa: N802
        self._dispatch("GET")

    def do_POST(self):  # noqa: N802
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/healthz" and method == "GET":
            return self._send(200, {"status": "ok"})
        if path == "/readyz" and method == "GET":
            return self._readyz()
        if path == "/metrics" and method == "GET":
            return self._send(200, self.app.metrics.render().encode(), "text/plain; version=0.0.4; charset=utf-8")
        if path == "/admin/faults":
            return self._faults(method)
        self._api(method, path)

    def _readyz(self) -> None:
        if self.app.shutting_down.is_set():
            return self._send(503, {"status": "shutting down"})
        problems = self.app.dependencies_ready()
        self._send(503 if problems else 200, {"status": "unready" if problems else "ready", "problems": problems})

    def _faults(self, method: str) -> None:
        if method == "GET":
            return self._send(200, vars(self.app.faults.current()))
        try:
            faults = self.app.faults.update(self._body())
        except (ValueError, json.JSONDecodeError) as error:
            return self._send(400, {"error": str(error)})
        self.app.logger.log("warning", "faults changed", labels={"faults": json.dumps(vars(faults), sort_keys=True)})
        self._send(200, vars(faults))

    def _api(self, method: str, path: str) -> None:
        app = self.app
        started = time.perf_counter()
        trace_id = self._trace_id()
        faults = app.faults.current()
        route, status, payload, error = path, 404, {"error": "not found"}, None
        try:
            if faults.added_latency_seconds:
                time.sleep(faults.added_latency_seconds)
            if path == "/workflows" and method == "POST":
                route = "/workflows"
                status, payload = self._create()
            elif path == "/workflows" and method == "GET":
                route = "/workflows"
                app.query()
                with app.lock:
                    status, payload = 200, {"workflows": sorted(app.workflows)}
            elif (match := RUN_ROUTE.match(path)) and method == "POST":
                route = "/workflows/{id}/run"
                status, payload = self._run(match["id"])
            elif (match := WORKFLOW_ROUTE.match(path)) and method == "GET":
                route = "/workflows/{id}"
                status, payload = self._get(match["id"])
            elif path.startswith("/workflows"):
                route, status, payload = "/workflows", 405, {"error": "method not allowed"}
            else:
                route = "other"
            if status < 500 and random.random() < faults.error_rate:
                status, payload, error = 500, {"error": "injected failure"}, ("InjectedFault", "injected failure (error_rate fault)")
        except Exception as exc:  # noqa: BLE001 - a request must never take the server down
            status, payload, error = 500, {"error": "internal error"}, (type(exc).__name__, str(exc))
        if faults.critical_errors:
            app.metrics.errors.inc(service=app.service, severity="critical")
            app.logger.log(
                "critical", "workflow state write failed", **{"error.type": "InjectedCritical",
                "error.message": "injected critical error (critical_errors fault)", "trace.id": trace_id}
            )
        if error:
            app.metrics.errors.inc(service=app.service, severity="error")
        self._send(status, payload)
        duration = time.perf_counter() - started
        labels = {"service": app.service, "route": route, "method": method}
        app.metrics.requests.inc(**labels, code=str(status))
        app.metrics.request_duration.observe(duration, **labels)
        app.logger.log(
            "error" if error else "info",
            f"{method} {path} {status}",
            **{
                "http.request.method": method,
                "url.path": path,
                "http.response.status_code": status,
                "event.duration": int(duration * 1e9),
                "trace.id": trace_id,
                "error.type": error[0] if error else None,
                "error.message": error[1] if error else None,
            },
        )

    # -- workflow API --------------------------------------------------------------

    def _create(self) -> tuple[int, dict]:
        try:
            body = self._body()
        except (ValueError, json.JSONDecodeError) as error:
            return 400, {"error": str(error)}
        workflow = {"id": uuid.uuid4().hex[:12], "name": str(body.get("name", "unnamed")), "runs": 0}
        self.app.query()
        with self.app.lock:
            self.app.workflows[workflow["id"]] = workflow
            self.app.cache.add(workflow["id"])
        return 201, workflow

    def _get(self, workflow_id: str) -> tuple[int, dict]:
        app = self.app
        if not app.cache_lookup(workflow_id):
            app.query()
            with app.lock:
                if workflow_id in app.workflows:
                    app.cache.add(workflow_id)
        with app.lock:
            workflow = app.workflows.get(workflow_id)
        return (200, dict(workflow)) if workflow else (404, {"error": f"workflow {workflow_id} not found"})

    def _run(self, workflow_id: str) -> tuple[int, dict]:
        app = self.app
        status, workflow = self._get(workflow_id)
        if status != 200:
            return status, workflow
        app.query()
        with app.lock:
            app.workflows[workflow_id]["runs"] += 1
        app.metrics.executions.inc(service=app.service, status="succeeded")
        return 200, {"id": workflow_id, "status": "succeeded"}


def make_server(host: str, port: int, app: WorkflowService) -> ThreadingHTTPServer:
    handler = type("BoundHandler", (Handler,), {"app": app})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = False  # in-flight requests finish before the process exits
    return server


def serve(host: str, port: int, service: str) -> int:
    """Run until SIGTERM/SIGINT, then stop accepting, finish in-flight requests and exit 0."""
    app = WorkflowService(service)
    server = make_server(host, port, app)

    def stop(signum, _frame):
        app.shutting_down.set()
        app.logger.log("info", f"received signal {signum}, shutting down")
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    app.logger.log("info", f"listening on {host}:{server.server_address[1]}", **{"server.port": server.server_address[1]})
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()  # joins request threads
        app.logger.log("info", "stopped")
    return 0
