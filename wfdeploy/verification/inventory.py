"""The verification inventory: which hosts to check, what each must look like, where the endpoints are.

One inventory drives both targets of the suite: a deployed stage (hosts are
`kubectl://POD?namespace=…&container=…`, discovered at run time) and this
machine (`local://` hosts, expectations supplied by the integration tests).
It is plain JSON so that an operator can read and adjust what was checked.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from components.backup.facts import BACKUP_CRONJOB, RESTORE_DRILL_CRONJOB
from components.logging.retention import DATA_STREAM


@dataclass(frozen=True)
class ConfigFile:
    """A configuration file the process reads: who must own it and its exact permission bits."""

    path: str
    owner_uid: int
    mode: int  # e.g. 0o600; written as an int in JSON, shown in octal in reports


@dataclass(frozen=True)
class HostTarget:
    """One process to check and what is expected of it."""

    name: str
    role: str
    backend: str  # testinfra host spec: kubectl://POD?namespace=…&container=… or local://
    uid: int | None  # None: any non-root user (the image decides)
    process: str = ""  # regex over the command line; empty = PID 1 (a container's main process)
    ports: tuple[int, ...] = ()
    writable_paths: tuple[str, ...] = ()
    read_only_root: bool = True
    config_files: tuple[ConfigFile, ...] = ()
    secret_paths: tuple[str, ...] = ()  # mounted Secret volumes: the only place credentials may be on disk
    secret_env: tuple[str, ...] = ()  # variables filled from Secret references (secretKeyRef)
    scan_paths: tuple[str, ...] = ()  # where no credential may be stored (in the process's view)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "HostTarget":
        values = dict(data)
        values["config_files"] = tuple(ConfigFile(**item) for item in values.get("config_files", ()))
        for name in ("ports", "writable_paths", "secret_paths", "secret_env", "scan_paths"):
            values[name] = tuple(values.get(name, ()))
        return cls(**values)


@dataclass(frozen=True)
class Endpoints:
    """Stage-level endpoints; a check whose endpoint is None does not apply to this inventory."""

    edge_url: str | None = None  # base URL of the public edge
    edge_host: str | None = None  # Host header, when edge_url is an address rather than the hostname
    rate_limit_requests: int | None = None  # per unit, per Envoy replica
    rate_limit_unit: str = "Second"
    edge_replicas: int = 1
    prometheus_url: str | None = None
    expected_alerts: tuple[str, ...] = ()
    expected_jobs: tuple[str, ...] = ()  # scrape jobs that must have at least one target
    alertmanager_url: str | None = None
    alertmanager_peers: int = 1  # production runs a cluster: every replica must be a peer
    elasticsearch_url: str | None = None
    elasticsearch_index: str = DATA_STREAM  # the data stream the log shipper writes
    elasticsearch_filter_field: str = "kubernetes.namespace"  # which documents are the service's logs
    elasticsearch_filter_value: str = "workflow"
    elasticsearch_user_env: str = "WFDEPLOY_ES_USER"  # names of variables with the credentials, never values
    elasticsearch_password_env: str = "WFDEPLOY_ES_PASSWORD"
    backup_namespace: str = "workflow-data"
    backup_cronjob: str = BACKUP_CRONJOB
    restore_drill_cronjob: str = RESTORE_DRILL_CRONJOB
    backup_max_age_seconds: int | None = None  # the stage's RPO
    restore_drill_max_age_seconds: int | None = None  # missed runs × the drill's schedule interval

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Endpoints":
        values = dict(data)
        for name in ("expected_alerts", "expected_jobs"):
            values[name] = tuple(values.get(name, ()))
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown endpoint keys {unknown}")
        return cls(**values)


@dataclass(frozen=True)
class Inventory:
    stage: str
    hosts: tuple[HostTarget, ...] = ()
    endpoints: Endpoints = field(default_factory=Endpoints)
    missing: tuple[str, ...] = ()  # long-running workloads with no running pod: verification fails
    notes: tuple[str, ...] = ()  # shown in the report, not a failure (e.g. no backup Job running right now)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json() + "\n")
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Inventory":
        return cls(
            stage=data["stage"],
            hosts=tuple(HostTarget.from_dict(item) for item in data.get("hosts", ())),
            endpoints=Endpoints.from_dict(data.get("endpoints", {})),
            missing=tuple(data.get("missing", ())),
            notes=tuple(data.get("notes", ())),
        )

    @classmethod
    def read(cls, path: Path) -> "Inventory":
        return cls.from_dict(json.loads(Path(path).read_text()))
