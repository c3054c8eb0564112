"""Bad monitoring input is rejected by `validate`, naming the key; receivers decide which secrets a stage needs."""

from __future__ import annotations

import pytest

from components.config import ConfigError
from components.config.secrets import OPERATOR_SECRETS
from tests.stagehelpers import STAGES, load_stage_with, section


def monitoring_with(stage: str, **changes):
    monitoring = section(stage, "monitoring")
    for path, value in changes.items():
        target = monitoring
        *parents, leaf = path.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = value
    return {"workflow-platform:monitoring": monitoring}


def problems(stage: str, **changes) -> str:
    with pytest.raises(ConfigError) as error:
        load_stage_with(stage, monitoring_with(stage, **changes))
    return str(error.value)


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_file_is_valid(stage):
    assert load_stage_with(stage).config.monitoring.alertmanager.receivers


@pytest.mark.parametrize("ratio", [0, -0.1, 1.5])
def test_cache_hit_ratio_outside_zero_to_one_is_rejected_with_its_key(ratio):
    text = problems("production", **{"alerts.WorkflowCacheHitRateLow.minHitRatio": ratio})
    assert "workflow-platform:monitoring.alerts.WorkflowCacheHitRateLow.minHitRatio" in text
    assert "(0, 1]" in text


def test_availability_target_of_one_leaves_no_budget_and_is_rejected():
    text = problems("production", **{"slo.availabilityTarget": 1.0})
    assert "workflow-platform:monitoring.slo.availabilityTarget" in text


@pytest.mark.parametrize("duration", ["-5m", "5 minutes", "0s"])
def test_negative_or_malformed_for_duration_is_rejected_with_its_key(duration):
    text = problems("production", **{"alerts.WorkflowLatencyHigh.for": duration})
    assert "workflow-platform:monitoring.alerts.WorkflowLatencyHigh.for" in text


def test_negative_latency_threshold_is_rejected():
    text = problems("production", **{"alerts.WorkflowLatencyHigh.averageSeconds": -1})
    assert "workflow-platform:monitoring.alerts.WorkflowLatencyHigh.averageSeconds" in text


def test_route_to_an_unknown_receiver_is_rejected_naming_the_route():
    text = problems("production", **{"alertmanager.routes.critical": "oncall"})
    assert "workflow-platform:monitoring.alertmanager.routes.critical" in text
    assert "unknown receiver 'oncall'" in text


def test_alert_without_a_runbook_is_rejected_naming_the_alert():
    text = problems("production", **{"alerts.BackupStale.runbook": "NoSuchRunbook"})
    assert "workflow-platform:monitoring.alerts.BackupStale.runbook" in text
    assert "runbooks/alerts/NoSuchRunbook.md" in text


def test_unknown_alert_key_is_rejected():
    text = problems("production", **{"alerts.WorkflowLatencyTypo": {"for": "5m"}})
    assert "workflow-platform:monitoring.alerts.WorkflowLatencyTypo" in text


def test_webhook_receiver_with_credentials_in_its_url_is_rejected():
    receivers = [{"name": "chat", "type": "webhook", "url": "https://hooks.example.com/x?token=abc"}, {"name": "pager", "type": "null"}, {"name": "heartbeat", "type": "null"}]
    text = problems("production", **{"alertmanager.receivers": receivers})
    assert "workflow-platform:monitoring.alertmanager.receivers[0].url" in text


def test_runbook_base_url_must_point_at_the_runbooks_folder():
    text = problems("production", runbookBaseUrl="https://github.com/example/workflow-platform/blob/main/docs")
    assert "workflow-platform:monitoring.runbookBaseUrl" in text


def _required(stage: str) -> set[str]:
    config = load_stage_with(stage).config
    return {secret.key for secret in OPERATOR_SECRETS if secret.required_when(config)}


def test_production_requires_the_pager_and_chat_secrets():
    assert _required("production") >= {"pagerRoutingKey", "chatWebhookUrl"}


def test_local_requires_no_receiver_secret():
    assert not _required("local") & {"pagerRoutingKey", "chatWebhookUrl"}


def test_a_stage_without_a_pagerduty_receiver_does_not_require_the_routing_key():
    assert "pagerRoutingKey" not in _required("alpha")
    assert "chatWebhookUrl" in _required("alpha")
