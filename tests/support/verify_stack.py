"""The local verification tier: the reference service, Prometheus and Alertmanager, each sandboxed.

Each runs like its pod would (non-root, read-only root, only its data
directory writable) with the stage's rendered configuration: Prometheus loads
the platform's rule files and scrapes the service every second, Alertmanager
runs the stage's alertmanager.yaml with placeholder receiver files standing
in for the mounted Secret. `inventory()` says what each process must look like.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

from components.config.schema import StageConfig
from components.monitoring.alertmanager import alertmanager_config
from components.monitoring.rules import alert_names, rule_files
from tests.support.ports import free_port
from tests.support.verify_sandbox import start_sandboxed, stop
from wfdeploy.paths import PROJECT_ROOT
from wfdeploy.verification.inventory import ConfigFile, Endpoints, HostTarget, Inventory

PROMETHEUS_BIN = Path("/usr/bin/prometheus")
ALERTMANAGER_BIN = Path("/usr/bin/prometheus-alertmanager")
#: The system Python: the project's venv lives under /root, which a non-root user cannot read.
SYSTEM_PYTHON = Path("/usr/bin/python3")
SERVICE_UID = 10001  # the workflow service's runAsUser in the cluster
SCRAPE_JOBS = ("workflow-service", "prometheus", "alertmanager")


def _wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer 200 within {timeout}s")


@dataclass
class Started:
    name: str
    process: object
    port: int
    pattern: str


class LocalVerificationStack:
    """Start with `start()`, always `stop()`."""

    def __init__(self, config: StageConfig, service_env: dict[str, str] | None = None,
                 extra_scrape_targets: dict[str, str] | None = None):
        self.config = config
        self.service_env = service_env or {}
        self.extra_scrape_targets = dict(extra_scrape_targets or {})  # job -> host:port
        self.account = pwd.getpwnam("prometheus")
        self.root = Path(tempfile.mkdtemp(prefix="wf-verify-"))
        self.root.chmod(0o755)  # the sandboxed users must reach their config files
        self.started: dict[str, Started] = {}

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> "LocalVerificationStack":
        for binary in (PROMETHEUS_BIN, ALERTMANAGER_BIN, SYSTEM_PYTHON):
            if not binary.exists():
                raise RuntimeError(
                    f"{binary} not found: install the Debian packages prometheus, prometheus-alertmanager, python3"
                )
        try:
            self._start_service()
            self._start_alertmanager()
            self._start_prometheus()
        except Exception:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for started in reversed(list(self.started.values())):
            stop(started.process)
        self.started.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "LocalVerificationStack":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.started[name].port}"

    def pid(self, name: str) -> int:
        return self.started[name].process.pid

    # -- processes -----------------------------------------------------------------

    def _directory(self, name: str, owner: int | None = None, mode: int = 0o755) -> Path:
        path = self.root / name
        path.mkdir(parents=True)
        path.chmod(mode)
        if owner is not None:
            os.chown(path, owner, owner if owner == SERVICE_UID else self.account.pw_gid)
        return path

    def _start_service(self) -> None:
        port = free_port()
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", **self.service_env}
        process = start_sandboxed(
            [str(SYSTEM_PYTHON), "-m", "reference_service", "--host", "127.0.0.1", "--port", str(port)],
            uid=SERVICE_UID, gid=SERVICE_UID, tmpfs=["/tmp"], env=env, app_dir=PROJECT_ROOT,
            log=self.root / "service.log",
        )
        self.started["service"] = Started("service", process, port, rf"-m reference_service .*--port {port}\b")
        _wait_http(f"http://127.0.0.1:{port}/healthz")

    def _start_alertmanager(self) -> None:
        port = free_port()
        uid = self.account.pw_uid
        config_dir = self._directory("alertmanager-config")
        secrets = self._directory("alertmanager-secrets", owner=uid, mode=0o500)
        for key in self.config.monitoring.alertmanager.secret_keys():
            placeholder = secrets / key
            placeholder.write_text("placeholder-for-the-mounted-secret\n")
            os.chown(placeholder, uid, self.account.pw_gid)
            placeholder.chmod(0o400)
        config_file = config_dir / "alertmanager.yml"
        config_file.write_text(yaml.safe_dump(alertmanager_config(self.config, secrets_dir=str(secrets))))
        config_file.chmod(0o644)
        data = self._directory("alertmanager-data", owner=uid)
        process = start_sandboxed(
            [str(ALERTMANAGER_BIN), f"--config.file={config_file}", f"--storage.path={data}",
             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
            uid=uid, gid=self.account.pw_gid, writable=[data], log=self.root / "alertmanager.log",
        )
        self.started["alertmanager"] = Started("alertmanager", process, port, rf"alertmanager .*127\.0\.0\.1:{port}\b")
        self.alertmanager_files = {"config": config_file, "secrets": secrets, "data": data}
        _wait_http(f"http://127.0.0.1:{port}/-/ready")

    def _start_prometheus(self) -> None:
        port = free_port()
        uid = self.account.pw_uid
        config_dir = self._directory("prometheus-config")
        rules_dir = config_dir / "rules"
        rules_dir.mkdir()
        rules_dir.chmod(0o755)
        for name, document in rule_files(self.config).items():
            path = rules_dir / f"{name}.yaml"
            path.write_text(yaml.safe_dump(document, sort_keys=False))
            path.chmod(0o644)
        targets = {
            "workflow-service": f"127.0.0.1:{self.started['service'].port}",
            "prometheus": f"127.0.0.1:{port}",
            "alertmanager": f"127.0.0.1:{self.started['alertmanager'].port}",
            **self.extra_scrape_targets,
        }
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
            "rule_files": [str(rules_dir / "*.yaml")],
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [targets["alertmanager"]]}]}]},
            "scrape_configs": [
                {"job_name": job, "static_configs": [{"targets": [target]}]}
                for job, target in targets.items()
            ],
        }
        config_file = config_dir / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(config, sort_keys=False))
        config_file.chmod(0o644)
        data = self._directory("prometheus-data", owner=uid)
        process = start_sandboxed(
            [str(PROMETHEUS_BIN), f"--config.file={config_file}", f"--storage.tsdb.path={data}",
             f"--web.listen-address=127.0.0.1:{port}"],
            uid=uid, gid=self.account.pw_gid, writable=[data], log=self.root / "prometheus.log",
        )
        self.started["prometheus"] = Started("prometheus", process, port, rf"prometheus .*127\.0\.0\.1:{port}\b")
        self.prometheus_files = {"config": config_file, "rules": rules_dir, "data": data}
        _wait_http(f"http://127.0.0.1:{port}/-/ready")

    # -- what verification expects -------------------------------------------------

    def hosts(self) -> list[HostTarget]:
        uid = self.account.pw_uid
        am, prom = self.alertmanager_files, self.prometheus_files
        rule_files_expected = tuple(
            ConfigFile(str(path), 0, 0o644) for path in sorted(prom["rules"].glob("*.yaml"))
        )
        return [
            HostTarget(
                name="workflow-service", role="workflow-service", backend="local://", uid=SERVICE_UID,
                process=self.started["service"].pattern, ports=(self.started["service"].port,),
                writable_paths=("/tmp",), scan_paths=("/tmp",),
            ),
            HostTarget(
                name="alertmanager", role="alertmanager", backend="local://", uid=uid,
                process=self.started["alertmanager"].pattern, ports=(self.started["alertmanager"].port,),
                writable_paths=(str(am["data"]),), config_files=(ConfigFile(str(am["config"]), 0, 0o644),),
                secret_paths=(str(am["secrets"]),), scan_paths=(str(am["data"]), str(am["config"].parent)),
            ),
            HostTarget(
                name="prometheus", role="prometheus", backend="local://", uid=uid,
                process=self.started["prometheus"].pattern, ports=(self.started["prometheus"].port,),
                writable_paths=(str(prom["data"]),),
                config_files=(ConfigFile(str(prom["config"]), 0, 0o644), *rule_files_expected),
                scan_paths=(str(prom["data"]), str(prom["config"].parent)),
            ),
        ]

    def endpoints(self) -> Endpoints:
        return Endpoints(
            prometheus_url=self.url("prometheus"),
            expected_alerts=tuple(alert_names(self.config)),
            expected_jobs=SCRAPE_JOBS + tuple(self.extra_scrape_targets),
            alertmanager_url=self.url("alertmanager"),
            alertmanager_peers=1,  # one local replica; production's inventory asks for its replica count
        )

    def inventory(self, extra_hosts: list[HostTarget] = (), **endpoint_overrides) -> Inventory:
        endpoints = self.endpoints()
        if endpoint_overrides:
            endpoints = Endpoints.from_dict({**json.loads(json.dumps(endpoints.__dict__)), **endpoint_overrides})
        return Inventory(self.config.stage, tuple(self.hosts()) + tuple(extra_hosts), endpoints)


def postgres_host(server) -> HostTarget:
    """What a local PostgreSQL (tests/support/postgres.py) must look like: the postgres user, its port, its conf."""
    account = pwd.getpwnam("postgres")
    data_dir = str(server.data_dir)
    return HostTarget(
        name="postgres", role="postgres", backend="local://", uid=account.pw_uid,
        process=rf"bin/postgres -D {re.escape(data_dir)}( |$)", ports=(server.port,),
        # not sandboxed: pg_ctl runs it directly, so the read-only root checks do not apply to this host
        read_only_root=False,
        config_files=(ConfigFile(f"{data_dir}/postgresql.conf", account.pw_uid, 0o600),
                      ConfigFile(f"{data_dir}/pg_hba.conf", account.pw_uid, 0o600)),
        scan_paths=(str(server.root),),
    )
