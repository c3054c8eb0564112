"""The rendered alertmanager.yaml, checked and route-tested with the real amtool for every stage."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from components.monitoring.alertmanager import DROP_RECEIVER, alertmanager_config
from tests.stagehelpers import STAGES, load_stage_with
from wfdeploy.render.documents import dump_yaml


def write_config(stage: str, folder: Path) -> Path:
    path = folder / f"alertmanager-{stage}.yaml"
    path.write_text(dump_yaml(alertmanager_config(load_stage_with(stage).config)))
    return path


def amtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["amtool", *args], capture_output=True, text=True, timeout=60)


def routed_to(config: Path, *labels: str) -> str:
    result = amtool("config", "routes", "test", f"--config.file={config}", *labels)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize("stage", STAGES)
def test_config_passes_amtool_check(tmp_path, stage):
    result = amtool("check-config", str(write_config(stage, tmp_path)))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("severity,route", [("critical", "critical"), ("warning", "warning")])
def test_each_severity_reaches_the_stage_receiver_for_it(tmp_path, stage, severity, route):
    config = write_config(stage, tmp_path)
    expected = getattr(load_stage_with(stage).config.monitoring.alertmanager.routes, route)
    assert routed_to(config, "alertname=WorkflowLatencyHigh", f"severity={severity}", "service=workflow-service") == expected


@pytest.mark.parametrize("stage", STAGES)
def test_watchdog_goes_to_the_heartbeat_receiver(tmp_path, stage):
    expected = load_stage_with(stage).config.monitoring.alertmanager.routes.heartbeat
    assert routed_to(write_config(stage, tmp_path), "alertname=Watchdog", "severity=none") == expected


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize(
    "labels",
    [
        ("alertname=InfoInhibitor", "severity=none", "namespace=workflow"),
        ("alertname=KubeQuotaAlmostFull", "severity=info", "namespace=workflow"),
        ("alertname=CPUThrottlingHigh", "severity=info", "namespace=monitoring"),
    ],
)
def test_the_charts_info_alerts_and_their_inhibitor_notify_nobody(tmp_path, stage, labels):
    # this config replaces the chart's, whose null route used to swallow these
    assert routed_to(write_config(stage, tmp_path), *labels) == DROP_RECEIVER


@pytest.mark.parametrize("stage", STAGES)
def test_an_alert_without_a_known_severity_still_reaches_the_warning_receiver(tmp_path, stage):
    expected = load_stage_with(stage).config.monitoring.alertmanager.routes.warning
    assert routed_to(write_config(stage, tmp_path), "alertname=Unlabelled", "namespace=workflow") == expected


def test_production_pages_through_pagerduty_with_the_key_read_from_a_mounted_file():
    config = alertmanager_config(load_stage_with("production").config)
    pager = next(r for r in config["receivers"] if r["name"] == "pager")
    assert pager["pagerduty_configs"][0]["routing_key_file"] == "/etc/alertmanager/secrets/alertmanager-receivers/pagerRoutingKey"
    chat = next(r for r in config["receivers"] if r["name"] == "chat")
    assert chat["slack_configs"][0]["api_url_file"].endswith("/chatWebhookUrl")
    assert "routing_key" not in pager["pagerduty_configs"][0]


def test_critical_inhibits_warning_for_the_same_alert_and_service():
    (rule,) = alertmanager_config(load_stage_with("production").config)["inhibit_rules"]
    assert rule["source_matchers"] == ['severity="critical"']
    assert rule["target_matchers"] == ['severity="warning"']
    assert {"alertname", "service"} <= set(rule["equal"])
