"""Grafana dashboards as code (grafana-foundation-sdk), provisioned through the Grafana sidecar.

Every query is written against the metric contract in DESIGN.md; the live
test evaluates each one against a real Prometheus.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef

from components.backup.facts import BACKUP_CRONJOB, RESTORE_DRILL_CRONJOB
from components.config.monitoring import AlertsConfig
from components.config.schema import NamespacesConfig, StageConfig
from components.facts import PART_OF
from components.monitoring.rules import error_ratio_record
from components.workflow.facts import CONTAINER as WORKFLOW_CONTAINER
from components.workflow.facts import SCRAPE_JOB as WORKFLOW_JOB

DATASOURCE = DataSourceRef(type_val="prometheus", uid="prometheus")


def _query(expr: str, legend: str = "") -> prometheus.Dataquery:
    query = prometheus.Dataquery().expr(expr).datasource(DATASOURCE)
    return query.legend_format(legend) if legend else query


def _series(title: str, unit: str, *queries: prometheus.Dataquery) -> timeseries.Panel:
    panel = timeseries.Panel().title(title).unit(unit).datasource(DATASOURCE).height(8).span(12)
    for query in queries:
        panel = panel.with_target(query)
    return panel


def _stat(title: str, unit: str, query: prometheus.Dataquery) -> stat.Panel:
    return stat.Panel().title(title).unit(unit).datasource(DATASOURCE).height(5).span(6).with_target(query)


def _board(uid: str, title: str, panels: list[Any]) -> dict[str, Any]:
    builder = dash.Dashboard(title).uid(uid).tags([PART_OF]).refresh("1m").time("now-6h", "now").readonly()
    for panel in panels:
        builder = builder.with_panel(panel)
    return json.loads(json.dumps(builder.build(), cls=JSONEncoder))


@dataclass(frozen=True)
class _BoardContext:
    """What every board of one stage selects and compares with."""

    namespaces: NamespacesConfig
    #: the workflow service's series in its namespace
    w: str
    alerts: AlertsConfig
    budget: float


def _slo_board(uid: str, ctx: _BoardContext) -> dict[str, Any]:
    """Availability, error budget and burn rates against the SLO."""
    return _board(
        uid,
        "Workflow SLO overview",
        [
            _stat(
                "Availability (30d)",
                "percentunit",
                _query(f'1 - (sum(rate(http_requests_total{{{ctx.w}, code=~"5.."}}[30d])) / sum(rate(http_requests_total{{{ctx.w}}}[30d])))'),
            ),
            _stat(
                "Error budget left (30d)",
                "percentunit",
                _query(
                    f'1 - (sum(rate(http_requests_total{{{ctx.w}, code=~"5.."}}[30d])) / sum(rate(http_requests_total{{{ctx.w}}}[30d]))) / {ctx.budget}'
                ),
            ),
            _stat("Requests per second", "reqps", _query(f"sum(rate(http_requests_total{{{ctx.w}}}[5m]))")),
            _stat("Workflow runs per second", "ops", _query(f"sum(rate(workflow_executions_total{{{ctx.w}}}[5m]))")),
            _series(
                "Burn rate by window (1 = budget spent in exactly 30 days)",
                "none",
                *[_query(f"{error_ratio_record(window)} / {ctx.budget}", window) for window in ("5m", "30m", "1h", "6h", "1d", "3d")],
            ),
            _series(
                "Requests by status code",
                "reqps",
                _query(f"sum by (code) (rate(http_requests_total{{{ctx.w}}}[5m]))", "{{code}}"),
            ),
        ],
    )


def _latency_board(uid: str, ctx: _BoardContext) -> dict[str, Any]:
    """Response times against the latency alert."""
    return _board(
        uid,
        "Workflow latency",
        [
            _series(
                "Average response time",
                "s",
                _query(
                    f"sum by (route) (rate(http_request_duration_seconds_sum{{{ctx.w}}}[5m])) / "
                    f"sum by (route) (rate(http_request_duration_seconds_count{{{ctx.w}}}[5m]))",
                    "{{route}}",
                ),
                _query(f"vector({ctx.alerts.workflow_latency_high.average_seconds})", "alert threshold"),
            ),
            _series(
                "p50 / p95 / p99",
                "s",
                *[
                    _query(
                        f"histogram_quantile({q}, sum by (le) (rate(http_request_duration_seconds_bucket{{{ctx.w}}}[5m])))",
                        f"p{int(q * 100)}",
                    )
                    for q in (0.5, 0.95, 0.99)
                ],
            ),
            _series(
                "Requests answered within 1s",
                "percentunit",
                # Prometheus 3 writes le="1" where 2.x wrote le="1.0": match both
                _query(
                    f'sum(rate(http_request_duration_seconds_bucket{{{ctx.w}, le=~"1(\\\\.0)?"}}[5m])) / '
                    f"sum(rate(http_request_duration_seconds_count{{{ctx.w}}}[5m]))"
                ),
            ),
        ],
    )


def _cache_board(uid: str, ctx: _BoardContext) -> dict[str, Any]:
    """Cache hit ratio against its alert, look-ups and Redis memory."""
    return _board(
        uid,
        "Workflow cache",
        [
            _series(
                "Cache hit ratio",
                "percentunit",
                _query(
                    f'sum(rate(workflow_cache_requests_total{{{ctx.w}, result="hit"}}[5m])) / '
                    f"sum(rate(workflow_cache_requests_total{{{ctx.w}}}[5m]))",
                    "hit ratio",
                ),
                _query(f"vector({ctx.alerts.workflow_cache_hit_rate_low.min_hit_ratio})", "alert threshold"),
            ),
            _series(
                "Look-ups by result",
                "ops",
                _query(f"sum by (result) (rate(workflow_cache_requests_total{{{ctx.w}}}[5m]))", "{{result}}"),
            ),
            _series(
                "Redis memory used",
                "bytes",
                _query(f'sum by (pod) (redis_memory_used_bytes{{namespace="{ctx.namespaces.data}"}})', "{{pod}}"),
            ),
        ],
    )


def _database_board(uid: str, ctx: _BoardContext) -> dict[str, Any]:
    """Query times against the slow-query alert, query rate and PostgreSQL backends."""
    return _board(
        uid,
        "Workflow database",
        [
            _series(
                "Query time p50 / p95",
                "s",
                *[
                    _query(
                        f"histogram_quantile({q}, sum by (le) (rate(workflow_db_query_duration_seconds_bucket{{{ctx.w}}}[5m])))",
                        f"p{int(q * 100)}",
                    )
                    for q in (0.5, ctx.alerts.workflow_db_query_slow.quantile)
                ],
                _query(f"vector({ctx.alerts.workflow_db_query_slow.threshold_seconds})", "alert threshold"),
            ),
            _series("Queries per second", "ops", _query(f"sum(rate(workflow_db_query_duration_seconds_count{{{ctx.w}}}[5m]))")),
            _series(
                "PostgreSQL backends",
                "short",
                _query(f'sum by (pod) (cnpg_backends_total{{namespace="{ctx.namespaces.data}"}})', "{{pod}}"),
            ),
        ],
    )


def _cpu_board(uid: str, ctx: _BoardContext) -> dict[str, Any]:
    """CPU used against the pods' requests and the CPU alert."""
    return _board(
        uid,
        "Workflow CPU against requests",
        [
            _series(
                "CPU used / requested",
                "percentunit",
                _query(
                    f'sum(rate(container_cpu_usage_seconds_total{{namespace="{ctx.namespaces.workflow}", container="{WORKFLOW_CONTAINER}"}}[5m])) / '
                    f'sum(kube_pod_container_resource_requests{{namespace="{ctx.namespaces.workflow}", container="{WORKFLOW_CONTAINER}", resource="cpu"}})'
                ),
                _query(f"vector({ctx.alerts.workflow_cpu_high.max_request_ratio})", "alert threshold"),
            ),
            _series(
                "CPU by pod",
                "short",
                _query(
                    f'sum by (pod) (rate(container_cpu_usage_seconds_total{{namespace="{ctx.namespaces.workflow}", container="{WORKFLOW_CONTAINER}"}}[5m]))',
                    "{{pod}}",
                ),
            ),
        ],
    )


def _backups_board(uid: str, ctx: _BoardContext) -> dict[str, Any]:
    """Ages of the last good backup and restore drill, failed drills."""
    return _board(
        uid,
        "Workflow backups",
        [
            _stat(
                "Age of the last good backup",
                "s",
                _query(f'time() - max(kube_cronjob_status_last_successful_time{{namespace="{ctx.namespaces.data}", cronjob="{BACKUP_CRONJOB}"}})'),
            ),
            _stat(
                "Age of the last good restore drill",
                "s",
                _query(
                    f'time() - max(kube_cronjob_status_last_successful_time{{namespace="{ctx.namespaces.data}", cronjob="{RESTORE_DRILL_CRONJOB}"}})'
                ),
            ),
            _series(
                "Failed drill jobs",
                "short",
                _query(
                    f'sum by (job_name) (kube_job_failed{{namespace="{ctx.namespaces.data}", job_name=~"{RESTORE_DRILL_CRONJOB}-.*", condition="true"}})',
                    "{{job_name}}",
                ),
            ),
        ],
    )


#: File name (= dashboard uid) → board builder; one ConfigMap per board.
BOARDS = {
    "workflow-slo": _slo_board,
    "workflow-latency": _latency_board,
    "workflow-cache": _cache_board,
    "workflow-database": _database_board,
    "workflow-cpu": _cpu_board,
    "workflow-backups": _backups_board,
}


def dashboards(config: StageConfig) -> dict[str, dict[str, Any]]:
    """{file name: dashboard JSON model} for the stage."""
    ns = config.namespaces
    ctx = _BoardContext(
        namespaces=ns,
        w=f'job="{WORKFLOW_JOB}", namespace="{ns.workflow}"',
        alerts=config.monitoring.alerts,
        budget=round(1 - config.monitoring.slo.availability_target, 10),
    )
    return {uid: build(uid, ctx) for uid, build in BOARDS.items()}


def dashboard_expressions(config: StageConfig) -> list[str]:
    """Every PromQL expression of every dashboard panel."""
    return [
        target["expr"]
        for board in dashboards(config).values()
        for panel in board.get("panels", [])
        for target in panel.get("targets", [])
    ]
