"""The platform's Prometheus rule files, derived from the stage configuration.

These plain rule files are the source of truth: `render` writes them for
promtool, and the component wraps each one unchanged into a PrometheusRule.
They must load in Prometheus 2.42 (promtool here) and 3.x (the chart), so no
group-level `labels`/`query_offset`, and `le` is matched as `le=~"1(\\.0)?"`.
"""

from __future__ import annotations

from typing import Any

from components.config.schema import StageConfig
from components.backup.facts import BACKUP_CRONJOB, RESTORE_DRILL_CRONJOB
from components.config.types import cron_max_interval_seconds, duration_seconds
from components.data.facts import CLUSTER_NAME as DATABASE_SERVICE
from components.workflow.facts import CONTAINER as WORKFLOW_CONTAINER
from components.workflow.facts import SCRAPE_JOB as WORKFLOW_JOB

#: SRE workbook multi-window, multi-burn-rate pairs: (long window, short window, burn-rate factor).
PAGE_BURN_WINDOWS = (("1h", "5m", 14.4), ("6h", "30m", 6.0))
TICKET_BURN_WINDOWS = (("1d", "2h", 3.0), ("3d", "6h", 1.0))
BURN_WINDOWS = sorted({w for pair in PAGE_BURN_WINDOWS + TICKET_BURN_WINDOWS for w in pair[:2]}, key=duration_seconds)

SEVERITY_PAGE = "critical"
SEVERITY_TICKET = "warning"


def error_ratio_record(window: str) -> str:
    """Name of the recording rule holding the 5xx ratio over one window."""
    return f"service:http_requests_errors:ratio_rate{window}"


def _number(value: float) -> str:
    """A threshold as PromQL text: integral values without a trailing '.0'."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _humanize(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


class RuleContext:
    """Selectors and helpers shared by every rule of one stage."""

    def __init__(self, config: StageConfig):
        self.config = config
        self.monitoring = config.monitoring
        namespaces = config.namespaces
        self.workflow = f'job="{WORKFLOW_JOB}", namespace="{namespaces.workflow}"'
        self.data_namespace = namespaces.data
        self.workflow_namespace = namespaces.workflow

    def alert(
        self, name: str, expr: str, severity: str, summary: str, description: str, for_: str | None, **labels: str
    ) -> dict[str, Any]:
        rule: dict[str, Any] = {"alert": name, "expr": expr}
        if for_:
            rule["for"] = for_
        rule["labels"] = {"severity": severity, **labels}
        rule["annotations"] = {
            "summary": summary,
            "description": description,
            "runbook_url": self.monitoring.runbook_url(name),
        }
        return rule


def _slo_group(ctx: RuleContext) -> list[dict[str, Any]]:
    target = ctx.monitoring.slo.availability_target
    budget = 1 - target
    settings = ctx.monitoring.alerts.workflow_availability_budget_burn
    records = [
        {
            "record": error_ratio_record(window),
            "expr": (
                f'sum by (namespace, service) (rate(http_requests_total{{{ctx.workflow}, code=~"5.."}}[{window}]))\n'
                f"/\n"
                f"sum by (namespace, service) (rate(http_requests_total{{{ctx.workflow}}}[{window}]))"
            ),
        }
        for window in BURN_WINDOWS
    ]

    def burn(pairs: tuple[tuple[str, str, float], ...]) -> str:
        clauses = [
            f"(\n  {error_ratio_record(long)} > ({_number(factor)} * {_number(round(budget, 10))})\n"
            f"and\n  {error_ratio_record(short)} > ({_number(factor)} * {_number(round(budget, 10))})\n)"
            for long, short, factor in pairs
        ]
        return "\nor\n".join(clauses)

    percent = f"{target * 100:g}%"
    alerts = [
        ctx.alert(
            "WorkflowAvailabilityBudgetBurn",
            burn(PAGE_BURN_WINDOWS),
            SEVERITY_PAGE,
            "Workflow service is burning its error budget fast",
            f"{{{{ $labels.service }}}} in {{{{ $labels.namespace }}}} serves 5xx at a rate that exhausts the "
            f"{percent} availability budget within days (1h/5m at 14.4x or 6h/30m at 6x).",
            settings.page_for,
            slo="availability",
        ),
        ctx.alert(
            "WorkflowAvailabilityBudgetBurn",
            burn(TICKET_BURN_WINDOWS),
            SEVERITY_TICKET,
            "Workflow service is slowly burning its error budget",
            f"{{{{ $labels.service }}}} in {{{{ $labels.namespace }}}} serves 5xx at a rate that exhausts the "
            f"{percent} availability budget within the month (1d/2h at 3x or 3d/6h at 1x).",
            settings.ticket_for,
            slo="availability",
        ),
    ]
    return [{"name": "workflow-slo-availability.records", "rules": records}, {"name": "workflow-slo-availability.alerts", "rules": alerts}]


def _service_group(ctx: RuleContext) -> list[dict[str, Any]]:
    alerts = ctx.monitoring.alerts
    latency, cache, db, cpu = (
        alerts.workflow_latency_high,
        alerts.workflow_cache_hit_rate_low,
        alerts.workflow_db_query_slow,
        alerts.workflow_cpu_high,
    )
    errors, down = alerts.workflow_critical_errors, alerts.workflow_target_down
    w = ctx.workflow
    quantile = _number(db.quantile)
    rules = [
        ctx.alert(
            "WorkflowLatencyHigh",
            f"sum by (namespace, service) (rate(http_request_duration_seconds_sum{{{w}}}[{latency.window}]))\n/\n"
            f"sum by (namespace, service) (rate(http_request_duration_seconds_count{{{w}}}[{latency.window}]))\n"
            f"> {_number(latency.average_seconds)}",
            SEVERITY_TICKET,
            "Workflow service responds slowly",
            f"Average response time of {{{{ $labels.service }}}} is {{{{ $value | humanizeDuration }}}} "
            f"(threshold {_number(latency.average_seconds)}s over {latency.window}).",
            latency.for_,
        ),
        ctx.alert(
            "WorkflowCacheHitRateLow",
            f'sum by (namespace, service) (rate(workflow_cache_requests_total{{{w}, result="hit"}}[{cache.window}]))\n/\n'
            f"sum by (namespace, service) (rate(workflow_cache_requests_total{{{w}}}[{cache.window}]))\n"
            f"< {_number(cache.min_hit_ratio)}",
            SEVERITY_TICKET,
            "Workflow cache hit ratio is low",
            f"Cache hit ratio of {{{{ $labels.service }}}} is {{{{ $value | humanizePercentage }}}} "
            f"(threshold {_number(cache.min_hit_ratio * 100)}% over {cache.window}).",
            cache.for_,
        ),
        ctx.alert(
            "WorkflowDBQuerySlow",
            f"histogram_quantile({quantile}, sum by (namespace, service, le) "
            f"(rate(workflow_db_query_duration_seconds_bucket{{{w}}}[{db.window}])))\n"
            f"> {_number(db.threshold_seconds)}",
            SEVERITY_TICKET,
            "Workflow database queries are slow",
            f"p{_number(db.quantile * 100)} database query time of {{{{ $labels.service }}}} is "
            f"{{{{ $value | humanizeDuration }}}} (threshold {_number(db.threshold_seconds * 1000)}ms over {db.window}).",
            db.for_,
        ),
        ctx.alert(
            "WorkflowCPUHigh",
            f'sum by (namespace) (rate(container_cpu_usage_seconds_total{{namespace="{ctx.workflow_namespace}", '
            f'container="{WORKFLOW_CONTAINER}"}}[{cpu.window}]))\n/\n'
            f'sum by (namespace) (kube_pod_container_resource_requests{{namespace="{ctx.workflow_namespace}", '
            f'container="{WORKFLOW_CONTAINER}", resource="cpu"}})\n'
            f"> {_number(cpu.max_request_ratio)}",
            SEVERITY_TICKET,
            "Workflow service uses more CPU than it requests",
            f"The workflow-service containers in {{{{ $labels.namespace }}}} use {{{{ $value | humanizePercentage }}}} "
            f"of their CPU requests (threshold {_number(cpu.max_request_ratio * 100)}%); the autoscaler is not keeping up.",
            cpu.for_,
            service=WORKFLOW_JOB,
        ),
        ctx.alert(
            "WorkflowCriticalErrors",
            f'sum by (namespace, service) (increase(workflow_errors_total{{{w}, severity="critical"}}[{errors.window}])) > 0',
            SEVERITY_PAGE,
            "Workflow service logged critical errors",
            f"{{{{ $labels.service }}}} logged {{{{ $value | humanize }}}} critical error(s) in the last {errors.window}.",
            errors.for_,
        ),
        ctx.alert(
            "WorkflowTargetDown",
            f"up{{{w}}} == 0",
            SEVERITY_PAGE,
            "A workflow service instance cannot be scraped",
            "Prometheus cannot scrape {{ $labels.instance }} of {{ $labels.job }} in {{ $labels.namespace }}.",
            down.for_,
            service=WORKFLOW_JOB,
            reason="down",
        ),
        ctx.alert(
            "WorkflowTargetDown",
            f"absent(up{{{w}}})",
            SEVERITY_PAGE,
            "No workflow service instance is being scraped",
            f"Prometheus has no scrape target for job {WORKFLOW_JOB} in {ctx.workflow_namespace}: "
            "the service or its ServiceMonitor is gone, and every other workflow alert is blind.",
            down.for_,
            service=WORKFLOW_JOB,
            reason="absent",
        ),
        ctx.alert(
            "WorkflowTargetDown",
            f"absent(http_requests_total{{{w}}}) and on () (count(up{{{w}}} == 1) > 0)",
            # a ticket, not a page: a service that saw no request yet exports no counters either
            SEVERITY_TICKET,
            "The workflow service exposes no request metrics",
            f"Targets of {WORKFLOW_JOB} are up but export no http_requests_total: the metric contract is broken "
            "and the availability alerts cannot fire.",
            down.for_,
            service=WORKFLOW_JOB,
            reason="no-metrics",
        ),
    ]
    return [{"name": "workflow-service.alerts", "rules": rules}]


def _backup_group(ctx: RuleContext) -> list[dict[str, Any]]:
    alerts = ctx.monitoring.alerts
    stale, drill = alerts.backup_stale, alerts.restore_drill_failed
    rpo = duration_seconds(ctx.config.backup.rpo)
    drill_gap = cron_max_interval_seconds(ctx.config.backup.restore_drill_schedule) * drill.missed_runs
    ns = ctx.data_namespace
    backup_sel = f'namespace="{ns}", cronjob="{BACKUP_CRONJOB}"'
    drill_sel = f'namespace="{ns}", cronjob="{RESTORE_DRILL_CRONJOB}"'
    drill_jobs = f'namespace="{ns}", job_name=~"{RESTORE_DRILL_CRONJOB}-.*"'
    labels = {"service": DATABASE_SERVICE}
    rules = [
        ctx.alert(
            "BackupStale",
            f"time() - max by (namespace, cronjob) (kube_cronjob_status_last_successful_time{{{backup_sel}}}) > {rpo}",
            SEVERITY_PAGE,
            "The last good database backup is older than the RPO",
            f"The last successful {BACKUP_CRONJOB} run was {{{{ $value | humanizeDuration }}}} ago; "
            f"the recovery point objective is {ctx.config.backup.rpo}.",
            stale.for_,
            reason="stale",
            **labels,
        ),
        {
            **ctx.alert(
                "BackupStale",
                f"absent(kube_cronjob_status_last_successful_time{{{backup_sel}}})",
                SEVERITY_PAGE,
                "No database backup has ever succeeded",
                f"{BACKUP_CRONJOB} in {ns} has no successful run (or kube-state-metrics does not see it) "
                f"for longer than the RPO of {ctx.config.backup.rpo}.",
                None,
                reason="absent",
                **labels,
            ),
            # absent from the start: hold for the whole RPO before calling it stale
            "for": _humanize(rpo),
        },
        ctx.alert(
            "RestoreDrillFailed",
            f"max by (namespace) (\n"
            f"  max by (namespace, job_name) (kube_job_status_start_time{{{drill_jobs}}})\n"
            f"  * on (namespace, job_name)\n"
            f'  (max by (namespace, job_name) (kube_job_failed{{{drill_jobs}, condition="true"}}) == 1)\n'
            f")\n"
            f"> on (namespace)\n"
            f"max by (namespace) (kube_cronjob_status_last_successful_time{{{drill_sel}}})",
            SEVERITY_TICKET,
            "The latest restore drill failed",
            f"The newest {RESTORE_DRILL_CRONJOB} job in {ns} failed after the last successful drill: "
            "backups are not proven restorable.",
            drill.for_,
            reason="failed",
            **labels,
        ),
        ctx.alert(
            "RestoreDrillFailed",
            f"time() - max by (namespace, cronjob) (kube_cronjob_status_last_successful_time{{{drill_sel}}}) > {drill_gap}",
            SEVERITY_TICKET,
            "No restore drill succeeded recently",
            f"The last successful {RESTORE_DRILL_CRONJOB} run was {{{{ $value | humanizeDuration }}}} ago, "
            f"more than {drill.missed_runs} drill intervals ({_humanize(drill_gap)}).",
            drill.for_,
            reason="stale",
            **labels,
        ),
        {
            **ctx.alert(
                "RestoreDrillFailed",
                f"absent(kube_cronjob_status_last_successful_time{{{drill_sel}}})",
                SEVERITY_TICKET,
                "No restore drill has ever succeeded",
                f"{RESTORE_DRILL_CRONJOB} in {ns} has no successful run for {drill.missed_runs} drill intervals.",
                None,
                reason="absent",
                **labels,
            ),
            "for": _humanize(drill_gap),
        },
    ]
    return [{"name": "workflow-backups.alerts", "rules": rules}]


def _heartbeat_group(ctx: RuleContext) -> list[dict[str, Any]]:
    return [
        {
            "name": "workflow-heartbeat.alerts",
            "rules": [
                {
                    "alert": "Watchdog",
                    "expr": "vector(1)",
                    "labels": {"severity": "none"},
                    "annotations": {
                        "summary": "Alerting pipeline heartbeat; always firing",
                        "description": "Fires as long as Prometheus evaluates rules and reaches Alertmanager; "
                        "the heartbeat receiver raises the alarm when it stops arriving.",
                        "runbook_url": ctx.monitoring.runbook_url("Watchdog"),
                    },
                }
            ],
        }
    ]


#: File name (without .yaml) → groups builder; one PrometheusRule per file.
RULE_FILES = {
    "workflow-slo": _slo_group,
    WORKFLOW_JOB: _service_group,
    "workflow-backups": _backup_group,
    "workflow-heartbeat": _heartbeat_group,
}


def rule_files(config: StageConfig) -> dict[str, dict[str, Any]]:
    """Every rule file of the stage: {name: {"groups": [...]}}."""
    ctx = RuleContext(config)
    return {name: {"groups": build(ctx)} for name, build in RULE_FILES.items()}


def alerting_rules(config: StageConfig) -> list[dict[str, Any]]:
    return [rule for document in rule_files(config).values() for group in document["groups"] for rule in group["rules"] if "alert" in rule]


def alert_names(config: StageConfig) -> list[str]:
    return list(dict.fromkeys(rule["alert"] for rule in alerting_rules(config)))


def all_expressions(config: StageConfig) -> list[str]:
    return [rule["expr"] for document in rule_files(config).values() for group in document["groups"] for rule in group["rules"]]
