"""Cross-field rules of the monitoring section: routes name defined receivers, every alert has a runbook."""

from __future__ import annotations

from .errors import Problem
from .project import PROJECT
from .monitoring import RUNBOOK_SUBDIR, runbook_template
from .types import duration_seconds


def _key(path: str) -> str:
    return f"{PROJECT}:monitoring.{path}"


def receiver_problems(config) -> list[Problem]:
    alertmanager = config.monitoring.alertmanager
    defined = [receiver.name for receiver in alertmanager.receivers]
    problems = [
        Problem(_key(f"alertmanager.routes.{route}"), f"unknown receiver {name!r}; defined receivers: {', '.join(defined) or 'none'}")
        for route, name in alertmanager.routes.model_dump().items()
        if name not in defined
    ]
    seen: set[str] = set()
    for index, name in enumerate(defined):
        if name in seen:
            problems.append(Problem(_key(f"alertmanager.receivers[{index}].name"), f"receiver {name!r} is defined twice"))
        seen.add(name)
    for index, receiver in enumerate(alertmanager.receivers):
        if receiver.type == "webhook" and not receiver.url:
            problems.append(Problem(_key(f"alertmanager.receivers[{index}].url"), "a webhook receiver needs a url"))
        if receiver.type != "webhook" and receiver.url:
            problems.append(Problem(_key(f"alertmanager.receivers[{index}].url"), f"only webhook receivers take a url; {receiver.type} reads its credential from a secret"))
    return problems


def runbook_problems(config) -> list[Problem]:
    monitoring = config.monitoring
    problems = []
    for alert, settings in monitoring.alerts.by_name().items():
        name = monitoring.runbook_name(alert)
        if not runbook_template(name).is_file():
            key = f"alerts.{alert}.runbook" if settings.runbook else f"alerts.{alert}"
            problems.append(Problem(_key(key), f"no runbook template runbooks/{RUNBOOK_SUBDIR}/{name}.md"))
    return problems


def evaluation_interval_problems(config) -> list[Problem]:
    prometheus = config.monitoring.prometheus
    if duration_seconds(prometheus.evaluation_interval) > duration_seconds(prometheus.scrape_interval) * 4:
        return [Problem(_key("prometheus.evaluationInterval"), "evaluating rules less often than every 4 scrapes delays every alert")]
    return []
