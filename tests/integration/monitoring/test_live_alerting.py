"""Live: real Prometheus and Alertmanager with the rendered rules and config, against the reference service.

The stage is production with only what a 60-second test cannot wait for
shortened (`for` durations, Alertmanager grouping) and the receivers pointed
at a local webhook recorder; routes, rules and thresholds are production's.
"""

from __future__ import annotations

import re
import time

import pytest

from components.monitoring.alertmanager import alertmanager_config
from components.monitoring.dashboards import dashboard_expressions
from components.monitoring.rules import all_expressions, rule_files
from tests.stagehelpers import load_stage_with, section
from tests.support.monitoring_stack import MonitoringStack, wait_until
from wfdeploy.render.documents import dump_yaml

pytestmark = pytest.mark.integration

#: Series the reference service exports (the metric contract) and rules derived from them.
FIXTURE_SERIES = re.compile(
    r"\b(http_requests_total|http_request_duration_seconds_\w+|workflow_cache_requests_total|"
    r"workflow_db_query_duration_seconds_\w+|workflow_errors_total|workflow_executions_total|service:http_requests_errors:\w+)\b"
)
CLUSTER_SERIES = re.compile(r"\b(kube_\w+|container_\w+|redis_\w+|cnpg_\w+)\b")


def live_stage(webhook_url: str):
    monitoring = section("production", "monitoring")
    monitoring["alerts"] = {"WorkflowAvailabilityBudgetBurn": {"pageFor": "3s", "ticketFor": "3s"}}
    alertmanager = monitoring["alertmanager"]
    alertmanager.update({"groupWait": "1s", "groupInterval": "1s", "repeatInterval": "1h"})
    alertmanager["receivers"] = [
        {"name": "pager", "type": "webhook", "url": f"{webhook_url}/pager"},
        {"name": "chat", "type": "webhook", "url": f"{webhook_url}/chat"},
        {"name": "heartbeat", "type": "webhook", "url": f"{webhook_url}/heartbeat"},
    ]
    return load_stage_with("production", {"workflow-platform:monitoring": monitoring})


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    stages = {}

    def configure(webhook, workdir):
        stage = stages["live"] = live_stage(webhook.url(""))
        rules_dir = workdir / "rules"
        rules_dir.mkdir()
        paths = []
        for name, document in rule_files(stage.config).items():
            path = rules_dir / f"{name}.yaml"
            path.write_text(dump_yaml(document))
            paths.append(path)
        return paths, alertmanager_config(stage.config)

    stack = MonitoringStack(configure, tmp_path_factory.mktemp("live-monitoring"))
    stack.start()
    try:
        stack.stage = stages["live"]
        yield stack
    finally:
        stack.stop()


def test_every_rule_loads_and_evaluates_healthy(stack):
    def healthy():
        health = stack.prometheus.rule_health()
        return health and all(state == "ok" for _, state, _ in health) and health

    stack.service.start_load()
    health = wait_until(healthy, 15, "every rule evaluated once with health ok")
    assert {name for name, _, _ in health} >= {"WorkflowAvailabilityBudgetBurn", "BackupStale", "Watchdog"}


def test_total_errors_page_the_pager_with_labels_and_runbook(stack):
    started = time.monotonic()
    time.sleep(2)  # some healthy traffic first
    stack.service.set_faults(error_rate=1.0)

    def paged():
        return [a for a in stack.webhook.alerts("/pager") if a["labels"].get("alertname") == "WorkflowAvailabilityBudgetBurn"]

    alerts = wait_until(paged, 40, "the availability page at the pager webhook", interval=0.5)
    elapsed = time.monotonic() - started
    alert = alerts[0]
    assert alert["status"] == "firing"
    assert alert["labels"]["severity"] == "critical"
    assert alert["labels"]["service"] == "workflow-service"
    assert alert["labels"]["namespace"] == "workflow"
    runbook = alert["annotations"]["runbook_url"]
    assert runbook.endswith("/runbooks/alerts/WorkflowAvailabilityBudgetBurn.md")
    assert elapsed < 45
    # critical goes to the pager only; the heartbeat has its own route
    assert not [a for a in stack.webhook.alerts("/chat") if a["labels"]["alertname"] == "WorkflowAvailabilityBudgetBurn" and a["labels"]["severity"] == "critical"]
    assert wait_until(lambda: stack.webhook.alerts("/heartbeat"), 10, "the Watchdog heartbeat")


def test_every_rule_and_dashboard_expression_evaluates(stack):
    config = stack.stage.config
    stack.service.set_faults(error_rate=0.5, cache_miss_ratio=1.0, slow_query_ratio=0.5, slow_query_seconds=0.2, critical_errors=True)
    time.sleep(3)
    expressions = all_expressions(config) + dashboard_expressions(config)
    errors, empty, checked = [], [], []
    for expr in expressions:
        try:
            stack.prometheus.query(expr)
        except ValueError as error:
            errors.append(str(error))
            continue
        if FIXTURE_SERIES.search(expr) and not CLUSTER_SERIES.search(expr) and "absent(" not in expr:
            # threshold comparisons hide data by design; the measured side must have data
            measured = re.sub(r"\s*[<>]=?\s*[0-9.]+\s*$", "", expr)
            checked.append(measured)
            if not stack.prometheus.query(measured):
                empty.append(measured)
    assert not errors, "\n".join(errors)
    assert not empty, "no data for:\n" + "\n".join(empty)
    # recording rules, burn-rate, latency, cache, DB and error alerts, and the service dashboards' panels
    assert len(checked) >= 25, checked
