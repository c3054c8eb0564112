"""Live: production's real receivers (PagerDuty, Slack) read their credentials from mounted files, and inhibit.

A real Alertmanager runs production's rendered config with the Secret's files
in a temp dir; the PagerDuty API URL and the Slack webhook URL (the file's
content) point at a local recorder. Only grouping delays are shortened.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from components.monitoring.alertmanager import alertmanager_config
from tests.stagehelpers import load_stage_with, section
from tests.support.monitoring_stack import Alertmanager, WebhookRecorder, http_json, wait_until

pytestmark = pytest.mark.integration

ROUTING_KEY = "test-routing-key-0123456789abcdef"


@pytest.fixture(scope="module")
def receivers(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("live-receivers")
    with WebhookRecorder() as recorder:
        secrets = workdir / "secrets"
        secrets.mkdir()
        (secrets / "pagerRoutingKey").write_text(ROUTING_KEY)
        (secrets / "chatWebhookUrl").write_text(recorder.url("/slack"))
        monitoring = section("production", "monitoring")
        monitoring["alertmanager"].update({"groupWait": "1s", "groupInterval": "1s"})
        stage = load_stage_with("production", {"workflow-platform:monitoring": monitoring})
        config = alertmanager_config(stage.config, secrets_dir=str(secrets))
        config["global"]["pagerduty_url"] = recorder.url("/pagerduty")
        with Alertmanager(workdir, config) as alertmanager:
            yield alertmanager, recorder


def post_alert(alertmanager: Alertmanager, alertname: str, severity: str, service: str) -> None:
    http_json(
        f"{alertmanager.url}/api/v2/alerts",
        [
            {
                "labels": {"alertname": alertname, "severity": severity, "service": service, "namespace": "workflow"},
                "annotations": {"summary": f"{alertname} test", "description": "live receiver test",
                                "runbook_url": f"https://example.invalid/runbooks/alerts/{alertname}.md"},
                "startsAt": datetime.now(timezone.utc).isoformat(),
            }
        ],
    )


def test_critical_pages_pagerduty_with_the_key_from_the_mounted_file(receivers):
    alertmanager, recorder = receivers
    post_alert(alertmanager, "WorkflowCriticalErrors", "critical", "svc-page")

    def event():
        return [body for path, body in recorder.received if path == "/pagerduty" and "svc-page" in str(body)]

    (body, *_) = wait_until(event, 20, "a PagerDuty event at the recorder")
    assert body["routing_key"] == ROUTING_KEY
    assert body["event_action"] == "trigger"
    assert body["payload"]["severity"] == "critical"
    assert {"href": "https://example.invalid/runbooks/alerts/WorkflowCriticalErrors.md", "text": "runbook"} in body["links"]


def test_warning_posts_to_the_chat_webhook_read_from_the_mounted_file(receivers):
    alertmanager, recorder = receivers
    post_alert(alertmanager, "WorkflowLatencyHigh", "warning", "svc-ticket")
    messages = wait_until(
        lambda: [b for p, b in recorder.received if p == "/slack" and "svc-ticket" in str(b)],
        20, "a Slack message at the recorder",
    )
    attachment = messages[0]["attachments"][0]
    assert "WorkflowLatencyHigh (warning) workflow/svc-ticket" in attachment["title"]
    assert "runbooks/alerts/WorkflowLatencyHigh.md" in attachment["text"]


def test_critical_inhibits_the_warning_of_the_same_alert_and_service(receivers):
    alertmanager, recorder = receivers
    post_alert(alertmanager, "WorkflowAvailabilityBudgetBurn", "critical", "svc-inhibit")
    post_alert(alertmanager, "WorkflowAvailabilityBudgetBurn", "warning", "svc-inhibit")
    wait_until(lambda: [b for p, b in recorder.received if p == "/pagerduty" and "svc-inhibit" in str(b)], 20, "the page")

    def state():
        alerts = http_json(f"{alertmanager.url}/api/v2/alerts?filter=service%3D%22svc-inhibit%22")
        return {a["labels"]["severity"]: a["status"]["state"] for a in alerts}

    assert wait_until(lambda: state() == {"critical": "active", "warning": "suppressed"} and state(), 10, "inhibition")
    assert not [b for p, b in recorder.received if p == "/slack" and "svc-inhibit" in str(b)]
