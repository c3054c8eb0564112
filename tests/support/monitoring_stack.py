"""Real Prometheus and Alertmanager (Debian binaries) on 127.0.0.1, a webhook recorder, and the reference service.

Reusable by any test: each part has `start()`/`stop()` (also context managers);
`MonitoringStack` starts all four with the rendered rule files and
alertmanager.yaml and stops everything it started. Intervals are 1s so live
tests finish in seconds.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

import yaml

from tests.support.ports import free_port
from wfdeploy.paths import PROJECT_ROOT

PROMETHEUS_BIN = "prometheus"
ALERTMANAGER_BIN = "prometheus-alertmanager"
#: Labels a ServiceMonitor gives the workflow service's targets in the cluster.
WORKFLOW_TARGET_LABELS = {"namespace": "workflow"}


def http_json(url: str, data: dict | None = None, timeout: float = 5.0) -> Any:
    body = json.dumps(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"} if body else {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"null")


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = predicate()
            if result:
                return result
        except Exception as error:  # noqa: BLE001 - a server still starting refuses connections
            last_error = error
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}" + (f" (last error: {last_error})" if last_error else ""))


def require_binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is not installed; run scripts/install (Debian packages in scripts/debian-packages.txt)")
    return path


class _Process:
    """A child process with its log file; stop() terminates it and waits."""

    def __init__(self, name: str, workdir: Path):
        self.name = name
        self.workdir = workdir
        self.process: subprocess.Popen | None = None
        self.log_path = workdir / f"{name}.log"

    def _spawn(self, command: list[str]) -> None:
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT, cwd=self.workdir)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _check_alive(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log()[-3000:]}")
        return True

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if getattr(self, "_log", None):
            self._log.close()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


class WebhookRecorder:
    """An HTTP server that records every JSON notification POSTed to it, by path."""

    def __init__(self):
        self.port = free_port()
        self.received: list[tuple[str, dict]] = []
        self._lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length) or b"{}")
                with recorder._lock:
                    recorder.received.append((self.path, payload))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> "WebhookRecorder":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def alerts(self, path: str | None = None) -> list[dict]:
        """Every alert in every notification (optionally only those sent to one path)."""
        with self._lock:
            return [alert for p, body in self.received if path in (None, p) for alert in body.get("alerts", [])]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class ReferenceService(_Process):
    """`python -m reference_service` on a free port, with a background load generator."""

    def __init__(self, workdir: Path, environment: dict[str, str] | None = None):
        super().__init__("reference-service", workdir)
        self.port = free_port()
        self.environment = environment or {}
        self._load_stop = threading.Event()
        self._load_threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ReferenceService":
        import os

        env = {**os.environ, **self.environment, "PYTHONPATH": str(PROJECT_ROOT)}
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "reference_service", "--port", str(self.port), "--host", "127.0.0.1"],
            stdout=self._log, stderr=subprocess.STDOUT, cwd=self.workdir, env=env,
        )
        wait_until(lambda: self._check_alive() and http_json(f"{self.url}/healthz")["status"] == "ok", 15, "reference service")
        return self

    def set_faults(self, **faults: Any) -> dict:
        return http_json(f"{self.url}/admin/faults", faults)

    def _load(self) -> None:
        workflow_id = None
        while not self._load_stop.is_set():
            try:
                if workflow_id is None:
                    workflow_id = http_json(f"{self.url}/workflows", {"name": "load"})["id"]
                http_json(f"{self.url}/workflows/{workflow_id}")
                http_json(f"{self.url}/workflows/{workflow_id}/run", {})
            except Exception:  # noqa: BLE001 - injected 5xx are the point
                pass
            self._load_stop.wait(0.02)

    def start_load(self, threads: int = 2) -> None:
        for _ in range(threads):
            thread = threading.Thread(target=self._load, daemon=True)
            thread.start()
            self._load_threads.append(thread)

    def stop(self) -> None:
        self._load_stop.set()
        for thread in self._load_threads:
            thread.join(timeout=5)
        super().stop()


class Alertmanager(_Process):
    def __init__(self, workdir: Path, config: dict):
        super().__init__("alertmanager", workdir)
        self.port = free_port()
        self.config_path = workdir / "alertmanager.yaml"
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Alertmanager":
        storage = self.workdir / "alertmanager-data"
        storage.mkdir(exist_ok=True)
        self._spawn([
            require_binary(ALERTMANAGER_BIN),
            f"--config.file={self.config_path}",
            f"--storage.path={storage}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--cluster.listen-address=",
        ])
        wait_until(lambda: self._check_alive() and urllib.request.urlopen(f"{self.url}/-/ready", timeout=2).status == 200, 20, "alertmanager")
        return self


class Prometheus(_Process):
    def __init__(self, workdir: Path, rule_files: list[Path], scrape_targets: dict[str, str], alertmanager_url: str | None):
        super().__init__("prometheus", workdir)
        self.port = free_port()
        self.config_path = workdir / "prometheus.yml"
        config: dict[str, Any] = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(path) for path in rule_files],
            "scrape_configs": [
                {
                    "job_name": job,
                    # as the ServiceMonitor does: the service's own `service` label wins
                    "honor_labels": True,
                    "static_configs": [{"targets": [target], "labels": dict(WORKFLOW_TARGET_LABELS)}],
                }
                for job, target in scrape_targets.items()
            ],
        }
        if alertmanager_url:
            host = urllib.parse.urlparse(alertmanager_url).netloc
            config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [host]}]}]}
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Prometheus":
        storage = self.workdir / "prometheus-data"
        storage.mkdir(exist_ok=True)
        self._spawn([
            require_binary(PROMETHEUS_BIN),
            f"--config.file={self.config_path}",
            f"--storage.tsdb.path={storage}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--storage.tsdb.retention.time=1h",
            # alerts that fired before the Alertmanager was discovered are resent within a second, not a minute
            "--rules.alert.resend-delay=1s",
        ])
        wait_until(lambda: self._check_alive() and urllib.request.urlopen(f"{self.url}/-/ready", timeout=2).status == 200, 30, "prometheus")
        return self

    def query(self, expr: str) -> list[dict]:
        """Instant query; raises with Prometheus' error text when the expression is invalid."""
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise ValueError(f"{expr!r}: {error.read().decode(errors='replace')}") from None
        if body.get("status") != "success":
            raise ValueError(f"{expr!r}: {body}")
        return body["data"]["result"]

    def alerts(self) -> list[dict]:
        return http_json(f"{self.url}/api/v1/alerts")["data"]["alerts"]

    def rule_health(self) -> list[tuple[str, str, str]]:
        """(rule name, health, last error) for every loaded rule."""
        groups = http_json(f"{self.url}/api/v1/rules")["data"]["groups"]
        return [(rule["name"], rule["health"], rule.get("lastError", "")) for group in groups for rule in group["rules"]]


class MonitoringStack:
    """Reference service + webhook recorder + Alertmanager + Prometheus, started in dependency order.

    `configure(webhook, workdir)` returns (rule file paths, alertmanager config dict): receivers usually
    point at the recorder, whose URL is only known once it runs.
    """

    def __init__(self, configure: Callable[[WebhookRecorder, Path], tuple[list[Path], dict]], workdir: Path | None = None):
        self._own_dir = workdir is None
        self.workdir = Path(tempfile.mkdtemp(prefix="monitoring-stack-")) if workdir is None else workdir
        self.configure = configure
        self._started: list[Any] = []

    def start(self) -> "MonitoringStack":
        try:
            self.webhook = self._add(WebhookRecorder().start())
            rule_files, alertmanager_config = self.configure(self.webhook, self.workdir)
            self.service = self._add(ReferenceService(self.workdir).start())
            self.alertmanager = self._add(Alertmanager(self.workdir, alertmanager_config).start())
            self.prometheus = self._add(
                Prometheus(self.workdir, rule_files, {"workflow-service": f"127.0.0.1:{self.service.port}"}, self.alertmanager.url).start()
            )
        except BaseException:
            self.stop()
            raise
        return self

    def _add(self, part):
        self._started.append(part)
        return part

    def stop(self) -> None:
        for part in reversed(self._started):
            try:
                part.stop()
            except Exception:  # noqa: BLE001 - stop the rest regardless
                pass
        self._started.clear()
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
