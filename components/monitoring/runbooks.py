"""Per-stage runbooks: one Jinja2 template per alert in runbooks/alerts/, rendered with the stage's names."""

from __future__ import annotations

from pathlib import Path

import jinja2

from components.config.monitoring import RUNBOOKS_DIR, runbook_template
from components.config.schema import StageConfig
from components.monitoring import facts
from components.monitoring.rules import alert_names


class MissingRunbook(Exception):
    """An alert rule has no runbook template; render must not ship it."""


def runbook_context(config: StageConfig) -> dict:
    monitoring = config.monitoring
    target = monitoring.slo.availability_target
    return {
        "stage": config.stage,
        "stack": config.stage,
        "context": config.cluster.context,
        "ns": config.namespaces.model_dump(),
        "alerts": monitoring.alerts.by_name(),
        "slo_percent": f"{target * 100:g}%",
        "budget_percent": f"{(1 - target) * 100:.3g}%",
        "rpo": config.backup.rpo,
        "drill_schedule": config.backup.restore_drill_schedule,
        "cpu_target": config.service.cpu_target_utilization_percent,
        "max_replicas": config.service.max_replicas,
        "prometheus_service": facts.PROMETHEUS_SERVICE,
        "alertmanager_name": facts.ALERTMANAGER_NAME,
        "heartbeat_receiver": monitoring.alertmanager.routes.heartbeat,
        "heartbeat_interval": monitoring.alertmanager.heartbeat_interval,
    }


def render_runbooks(config: StageConfig, runbooks_dir: Path = RUNBOOKS_DIR) -> dict[str, str]:
    """{runbook name: markdown} for every alert the stage's rules declare; raises MissingRunbook."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(runbooks_dir)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # markdown with shell commands, not HTML
    )
    environment.filters["num"] = lambda value: f"{float(value):g}"
    context = runbook_context(config)
    rendered: dict[str, str] = {}
    for alert in alert_names(config):
        name = config.monitoring.runbook_name(alert)
        template = runbook_template(name, runbooks_dir)
        if not template.is_file():
            raise MissingRunbook(f"alert {alert} has no runbook template {template}")
        rendered[name] = environment.get_template(template.relative_to(runbooks_dir).as_posix()).render(context)
    return rendered
