"""The `monitoring` section: SLO, alert thresholds, Prometheus/Alertmanager/Grafana sizing, receivers.

Defaults are the production targets; a stack file states only what differs.
Cross-field checks (routes naming defined receivers, every alert having a
runbook) live in `monitoring_rules.py` so that each problem names its key.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlparse

from pydantic import AfterValidator, Field, field_validator

from .types import ComputeResources, DnsSubdomain, Duration, MemoryQuantity, Section

RUNBOOKS_DIR = Path(__file__).resolve().parents[2] / "runbooks"
#: Where each alert's runbook template lives: runbooks/alerts/<runbook>.md (Jinja2).
RUNBOOK_SUBDIR = "alerts"


def _check_ratio(value: float) -> float:
    if not 0 < value <= 1:
        raise ValueError("expected a ratio in (0, 1]")  # the loader adds the value
    return value


def _check_seconds(value: float) -> float:
    if value <= 0:
        raise ValueError("expected a positive number of seconds")
    return value


#: A fraction such as 0.8 (80%); 0 is meaningless and above 1 impossible.
Ratio = Annotated[float, AfterValidator(_check_ratio)]
Seconds = Annotated[float, AfterValidator(_check_seconds)]

_SIZE_RE = re.compile(r"^\d+(B|KB|MB|GB|TB|PB|EB)$")
_RUNBOOK_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


def _check_size(value: str) -> str:
    if not _SIZE_RE.match(value) or int(re.sub(r"\D", "", value)) <= 0:
        raise ValueError("expected a Prometheus size like '40GB' or '500MB'")
    return value


#: Prometheus retention size (units B, KB, MB, GB, … as `--storage.tsdb.retention.size` takes them).
RetentionSize = Annotated[str, AfterValidator(_check_size)]

_DEFAULT_PROMETHEUS_RESOURCES = {"cpuRequest": "500m", "memoryRequest": "2Gi", "cpuLimit": "2", "memoryLimit": "4Gi"}
_DEFAULT_ALERTMANAGER_RESOURCES = {"cpuRequest": "50m", "memoryRequest": "64Mi", "cpuLimit": "200m", "memoryLimit": "256Mi"}
_DEFAULT_GRAFANA_RESOURCES = {"cpuRequest": "100m", "memoryRequest": "256Mi", "cpuLimit": "500m", "memoryLimit": "512Mi"}


class AlertSettings(Section):
    """What every alert shares: how long the condition must hold, and its runbook."""

    for_: Duration | None = Field(default=None, alias="for", description="how long the condition must hold; none fires at once")
    runbook: str | None = Field(
        default=None, description="runbook template name (runbooks/alerts/<runbook>.md); defaults to the alert name"
    )

    @field_validator("runbook")
    @classmethod
    def _runbook_is_a_name(cls, value: str | None) -> str | None:
        # a name, never a path: it picks a file in runbooks/alerts/ and nothing outside that folder
        if value is not None and not _RUNBOOK_NAME_RE.match(value):
            raise ValueError("expected a runbook name like 'WorkflowLatencyHigh' (letters, digits, '-', '_'; no path)")
        return value


class WindowedAlert(AlertSettings):
    window: Duration = Field(default="5m", description="rate window of the expression")


class LatencyAlert(WindowedAlert):
    average_seconds: Seconds = 1.0
    for_: Duration | None = Field(default="10m", alias="for")


class CacheHitRateAlert(WindowedAlert):
    min_hit_ratio: Ratio = 0.8
    window: Duration = "10m"
    for_: Duration | None = Field(default="15m", alias="for")


class DBQueryAlert(WindowedAlert):
    quantile: Ratio = 0.95
    threshold_seconds: Seconds = 0.1
    for_: Duration | None = Field(default="10m", alias="for")


class CPUAlert(WindowedAlert):
    max_request_ratio: Ratio = Field(default=0.5, description="CPU used over CPU requested")
    for_: Duration | None = Field(default="15m", alias="for")


class CriticalErrorsAlert(WindowedAlert):
    pass


class TargetDownAlert(AlertSettings):
    for_: Duration | None = Field(default="5m", alias="for")


class BackupStaleAlert(AlertSettings):
    """The threshold is the stage's `backup.rpo`; only the hold time is set here."""

    for_: Duration | None = Field(default="5m", alias="for")


class RestoreDrillAlert(AlertSettings):
    missed_runs: int = Field(default=2, ge=1, le=10, description="drill runs without a success before alerting")


class BudgetBurnAlert(AlertSettings):
    """Multi-window, multi-burn-rate alert on the availability error budget (SRE workbook)."""

    page_for: Duration = "2m"
    ticket_for: Duration = "15m"


class AlertsConfig(Section):
    """Per-alert settings, keyed by alert name (see DESIGN.md "Alert names")."""

    workflow_availability_budget_burn: BudgetBurnAlert = Field(
        default_factory=BudgetBurnAlert, alias="WorkflowAvailabilityBudgetBurn"
    )
    workflow_latency_high: LatencyAlert = Field(default_factory=LatencyAlert, alias="WorkflowLatencyHigh")
    workflow_cache_hit_rate_low: CacheHitRateAlert = Field(
        default_factory=CacheHitRateAlert, alias="WorkflowCacheHitRateLow"
    )
    workflow_db_query_slow: DBQueryAlert = Field(default_factory=DBQueryAlert, alias="WorkflowDBQuerySlow")
    workflow_cpu_high: CPUAlert = Field(default_factory=CPUAlert, alias="WorkflowCPUHigh")
    workflow_critical_errors: CriticalErrorsAlert = Field(
        default_factory=CriticalErrorsAlert, alias="WorkflowCriticalErrors"
    )
    workflow_target_down: TargetDownAlert = Field(default_factory=TargetDownAlert, alias="WorkflowTargetDown")
    backup_stale: BackupStaleAlert = Field(default_factory=BackupStaleAlert, alias="BackupStale")
    restore_drill_failed: RestoreDrillAlert = Field(default_factory=RestoreDrillAlert, alias="RestoreDrillFailed")

    def by_name(self) -> dict[str, AlertSettings]:
        return {field.alias: getattr(self, name) for name, field in type(self).model_fields.items()}


class SLOConfig(Section):
    availability_target: float = Field(default=0.999, description="fraction of requests that must not be 5xx")

    @field_validator("availability_target")
    @classmethod
    def _target_leaves_a_budget(cls, value: float) -> float:
        if not 0 < value < 1:
            raise ValueError("expected a ratio in (0, 1) that leaves an error budget")
        return value


class PrometheusConfig(Section):
    replicas: int = Field(default=1, ge=1, le=5)
    retention: Duration = "15d"
    retention_size: RetentionSize = "45GB"
    storage_size: MemoryQuantity = "50Gi"
    storage_class: DnsSubdomain | None = None
    scrape_interval: Duration = "30s"
    evaluation_interval: Duration = "30s"
    resources: ComputeResources = ComputeResources.model_validate(_DEFAULT_PROMETHEUS_RESOURCES)


ReceiverType = Literal["pagerduty", "slack", "webhook", "null"]

#: Which operator secret (components/config/secrets.py) each receiver type reads its credential from.
RECEIVER_SECRET = {"pagerduty": "pagerRoutingKey", "slack": "chatWebhookUrl"}


class ReceiverConfig(Section):
    """One notification target. Credentials come from operator secrets mounted as files, never from here."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,62}$")
    type: ReceiverType
    url: str | None = Field(default=None, description="webhook only: an endpoint that needs no credentials")
    channel: str | None = Field(default=None, description="slack only: channel override")

    @field_validator("url")
    @classmethod
    def _plain_http_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"expected an http(s) URL, got {value!r}")
        if parsed.username or parsed.password or parsed.query:
            raise ValueError("credentials (user info or query string) do not belong in a stack file")
        return value

    @property
    def secret_key(self) -> str | None:
        return RECEIVER_SECRET.get(self.type)


class RoutesConfig(Section):
    """Which receiver each kind of alert goes to."""

    critical: str = Field(default="pager", description="pages: severity=critical")
    warning: str = Field(default="chat", description="tickets: severity=warning")
    heartbeat: str = Field(default="heartbeat", description="the always-firing Watchdog alert")


class AlertmanagerConfig(Section):
    replicas: int = Field(default=2, ge=1, le=5)
    retention: Duration = "120h"
    storage_size: MemoryQuantity = "2Gi"
    resources: ComputeResources = ComputeResources.model_validate(_DEFAULT_ALERTMANAGER_RESOURCES)
    group_wait: Duration = "30s"
    group_interval: Duration = "5m"
    repeat_interval: Duration = "4h"
    heartbeat_interval: Duration = "1m"
    receivers: list[ReceiverConfig] = Field(
        default_factory=lambda: [
            ReceiverConfig(name="pager", type="pagerduty"),
            ReceiverConfig(name="chat", type="slack"),
            ReceiverConfig(name="heartbeat", type="null"),
        ]
    )
    routes: RoutesConfig = RoutesConfig()

    def receiver(self, name: str) -> ReceiverConfig | None:
        return next((receiver for receiver in self.receivers if receiver.name == name), None)

    def routed_receivers(self) -> list[ReceiverConfig]:
        """Receivers some route uses, in route order, each once."""
        names = dict.fromkeys((self.routes.critical, self.routes.warning, self.routes.heartbeat))
        return [receiver for name in names if (receiver := self.receiver(name))]

    def secret_keys(self) -> list[str]:
        """Operator secrets the routed receivers read."""
        return sorted({key for receiver in self.routed_receivers() if (key := receiver.secret_key)})


class GrafanaConfig(Section):
    """One Grafana on a persistent volume (its SQLite database does not share between replicas)."""

    storage_size: MemoryQuantity = "5Gi"
    resources: ComputeResources = ComputeResources.model_validate(_DEFAULT_GRAFANA_RESOURCES)
    admin_user: str = Field(default="admin", pattern=r"^[a-z][a-z0-9_-]{2,31}$")


class NodeExporterConfig(Section):
    """node-exporter needs host access, so it runs in its own namespace with a privileged Pod Security level."""

    enabled: bool = True
    namespace: str = Field(default="monitoring-node", pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


class MonitoringConfig(Section):
    """Prometheus, Alertmanager and Grafana (kube-prometheus-stack) and the platform's alerts."""

    runbook_base_url: str = Field(
        default="https://github.com/example/workflow-platform/blob/main/runbooks",
        description="URL of the repository's runbooks/ folder; runbook_url = <this>/alerts/<runbook>.md",
    )
    slo: SLOConfig = SLOConfig()
    alerts: AlertsConfig = AlertsConfig()
    prometheus: PrometheusConfig = PrometheusConfig()
    alertmanager: AlertmanagerConfig = AlertmanagerConfig()
    grafana: GrafanaConfig = GrafanaConfig()
    node_exporter: NodeExporterConfig = NodeExporterConfig()

    @field_validator("runbook_base_url")
    @classmethod
    def _points_at_runbooks(cls, value: str) -> str:
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"expected an http(s) URL, got {value!r}")
        if not parsed.path.rstrip("/").endswith("/runbooks"):
            raise ValueError(f"expected the URL of the repository's runbooks/ folder (path ending in /runbooks), got {value!r}")
        return value.rstrip("/")

    def runbook_name(self, alert: str) -> str:
        """The runbook template of an alert: its `runbook` setting, else the alert's own name."""
        settings = self.alerts.by_name().get(alert)
        return (settings.runbook if settings else None) or alert

    def runbook_url(self, alert: str) -> str:
        return f"{self.runbook_base_url}/{RUNBOOK_SUBDIR}/{self.runbook_name(alert)}.md"


def runbook_template(name: str, runbooks_dir: Path = RUNBOOKS_DIR) -> Path:
    return runbooks_dir / RUNBOOK_SUBDIR / f"{name}.md"
