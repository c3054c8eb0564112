"""The rendered rule files, proven with the real promtool: each alert fires in one case and stays silent in another.

Series follow the metric contract (DESIGN.md). Every promtool test sets its
`interval`, and is evaluated after the windows it reads have filled.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from components.monitoring.rules import alert_names, rule_files
from tests.stagehelpers import STAGES, load_stage_with
from wfdeploy.render import dump_yaml

W = 'job="workflow-service", namespace="workflow", service="workflow-service"'
WORKFLOW_LABELS = {"namespace": "workflow", "service": "workflow-service"}
DATA = 'namespace="workflow-data"'


def write_rules(stage: str, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, document in rule_files(load_stage_with(stage).config).items():
        path = folder / f"{name}.yaml"
        path.write_text(dump_yaml(document))
        paths.append(path)
    return paths


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("stage", STAGES)
def test_rule_files_pass_promtool_check(tmp_path, stage):
    result = promtool("check", "rules", *map(str, write_rules(stage, tmp_path)))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("stage", STAGES)
def test_every_alert_carries_severity_summary_description_and_runbook(stage):
    config = load_stage_with(stage).config
    for document in rule_files(config).values():
        for group in document["groups"]:
            assert "labels" not in group and "query_offset" not in group, "group-level fields break Prometheus 2.42"
            for rule in group["rules"]:
                if "alert" not in rule:
                    continue
                assert rule["labels"]["severity"] in ("critical", "warning", "none")
                assert set(rule["annotations"]) >= {"summary", "description", "runbook_url"}


def test_design_alert_names_are_all_declared():
    declared = set(alert_names(load_stage_with("production").config))
    assert declared >= {
        "WorkflowAvailabilityBudgetBurn", "WorkflowLatencyHigh", "WorkflowCacheHitRateLow", "WorkflowDBQuerySlow",
        "WorkflowCPUHigh", "WorkflowCriticalErrors", "WorkflowTargetDown", "BackupStale", "RestoreDrillFailed",
    }


# -- promtool unit tests -------------------------------------------------------------

class Expect:
    """Expected alerts, with annotations taken from the rendered rule (description given where it templates $value)."""

    def __init__(self, stage: str):
        self.rules = [
            rule
            for document in rule_files(load_stage_with(stage).config).values()
            for group in document["groups"]
            for rule in group["rules"]
            if "alert" in rule
        ]

    def alert(self, name: str, description: str | None = None, **labels: str) -> dict[str, Any]:
        candidates = [
            rule for rule in self.rules
            if rule["alert"] == name and all(rule["labels"].get(k, v) == v for k, v in labels.items())
        ]
        assert len(candidates) == 1, f"{name} {labels}: {len(candidates)} matching rules"
        annotations = dict(candidates[0]["annotations"])
        if description is not None:
            annotations["description"] = description
        for key, value in annotations.items():
            annotations[key] = re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels[m[1]], value)
        return {"exp_labels": labels, "exp_annotations": annotations}


def case(interval: str, series: dict[str, str], checks: list[tuple[str, str, list]], name: str) -> dict[str, Any]:
    return {
        "name": name,
        "interval": interval,
        "input_series": [{"series": s, "values": v} for s, v in series.items()],
        "alert_rule_test": [{"eval_time": t, "alertname": a, "exp_alerts": exp} for t, a, exp in checks],
    }


def production_cases() -> list[dict[str, Any]]:
    e = Expect("production")
    page = dict(severity="critical", slo="availability", **WORKFLOW_LABELS)
    ticket = dict(severity="warning", slo="availability", **WORKFLOW_LABELS)
    ok = f'http_requests_total{{{W}, route="/workflows", method="GET", code="200"}}'
    err = f'http_requests_total{{{W}, route="/workflows", method="GET", code="500"}}'
    def lat(part: str) -> str:
        return f'http_request_duration_seconds_{part}{{{W}, route="/workflows", method="GET"}}'

    def cache(result: str) -> str:
        return f'workflow_cache_requests_total{{{W}, result="{result}"}}'

    def db(le: str) -> str:
        return f'workflow_db_query_duration_seconds_bucket{{{W}, le="{le}"}}'

    def start(job: str) -> str:
        return f'kube_job_status_start_time{{{DATA}, job_name="workflow-db-restore-drill-{job}"}}'

    def failed(job: str) -> str:
        return f'kube_job_failed{{{DATA}, job_name="workflow-db-restore-drill-{job}", condition="true"}}'

    cpu = 'container_cpu_usage_seconds_total{namespace="workflow", container="workflow-service", pod="workflow-service-a"}'
    req = 'kube_pod_container_resource_requests{namespace="workflow", container="workflow-service", pod="workflow-service-a", resource="cpu", unit="core"}'
    up = 'up{job="workflow-service", namespace="workflow", instance="10.0.0.1:8080"}'
    backup = f'kube_cronjob_status_last_successful_time{{{DATA}, cronjob="workflow-db-backup"}}'
    drill = f'kube_cronjob_status_last_successful_time{{{DATA}, cronjob="workflow-db-restore-drill"}}'
    crit = f'workflow_errors_total{{{W}, severity="critical"}}'
    backup_labels = {"namespace": "workflow-data", "cronjob": "workflow-db-backup", "service": "workflow-db"}
    drill_labels = {"namespace": "workflow-data", "service": "workflow-db"}
    return [
        case(
            "1m",
            # an hour of healthy traffic at 1 req/s, then every request fails
            {ok: "0+60x60 3600x30", err: "0x60 60+60x30"},
            [
                ("60m", "WorkflowAvailabilityBudgetBurn", []),
                ("65m", "WorkflowAvailabilityBudgetBurn", [e.alert("WorkflowAvailabilityBudgetBurn", **page)]),
            ],
            "100% errors page within 5 minutes",
        ),
        case(
            "5m",
            # three days at 0.05% errors: half the budget rate, below every burn threshold
            {ok: "0+9995x870", err: "0+5x870"},
            [(t, "WorkflowAvailabilityBudgetBurn", []) for t in ("10m", "1h", "6h", "1d", "2d", "3d")],
            "a steady 0.05% error rate never pages or tickets",
        ),
        case(
            "5m",
            # 0.5% errors: above 3x budget over 1d/2h (ticket), below 6x (no page)
            {ok: "0+9950x60", err: "0+50x60"},
            [("3h", "WorkflowAvailabilityBudgetBurn", [e.alert("WorkflowAvailabilityBudgetBurn", **ticket)])],
            "a slow burn tickets without paging",
        ),
        case(
            "1m",
            {lat("count"): "0+60x30", lat("sum"): "0+120x30"},
            [("20m", "WorkflowLatencyHigh", [e.alert(
                "WorkflowLatencyHigh", "Average response time of workflow-service is 2s (threshold 1s over 5m).",
                severity="warning", **WORKFLOW_LABELS)])],
            "2s average latency fires",
        ),
        case(
            "1m",
            {lat("count"): "0+60x30", lat("sum"): "0+30x30"},
            [("20m", "WorkflowLatencyHigh", [])],
            "0.5s average latency is silent",
        ),
        case(
            "1m",
            {cache("hit"): "0+50x40", cache("miss"): "0+50x40"},
            [("30m", "WorkflowCacheHitRateLow", [e.alert(
                "WorkflowCacheHitRateLow", "Cache hit ratio of workflow-service is 50% (threshold 80% over 10m).",
                severity="warning", **WORKFLOW_LABELS)])],
            "50% cache hits fire",
        ),
        case(
            "1m",
            {cache("hit"): "0+90x40", cache("miss"): "0+10x40"},
            [("30m", "WorkflowCacheHitRateLow", [])],
            "90% cache hits are silent",
        ),
        case(
            "1m",
            {db("0.05"): "0x30", db("0.1"): "0x30", db("0.25"): "0+60x30", db("+Inf"): "0+60x30"},
            [("20m", "WorkflowDBQuerySlow", [e.alert(
                "WorkflowDBQuerySlow",
                "p95 database query time of workflow-service is 242.5ms (threshold 100ms over 5m).",
                severity="warning", **WORKFLOW_LABELS)])],
            "queries between 100 and 250 ms fire",
        ),
        case(
            "1m",
            {db("0.05"): "0+60x30", db("0.1"): "0+60x30", db("0.25"): "0+60x30", db("+Inf"): "0+60x30"},
            [("20m", "WorkflowDBQuerySlow", [])],
            "queries under 50 ms are silent",
        ),
        case(
            "1m",
            {cpu: "0+48x40", req: "1x40"},
            [("25m", "WorkflowCPUHigh", [e.alert(
                "WorkflowCPUHigh",
                "The workflow-service containers in workflow use 80% of their CPU requests (threshold 50%); "
                "the autoscaler is not keeping up.",
                severity="warning", **WORKFLOW_LABELS)])],
            "80% of requested CPU fires",
        ),
        case("1m", {cpu: "0+12x40", req: "1x40"}, [("25m", "WorkflowCPUHigh", [])], "20% of requested CPU is silent"),
        case(
            "1m",
            {crit: "0 0 0 1 1 1 1 1 1 1 1 1"},
            [
                ("2m", "WorkflowCriticalErrors", []),
                ("4m", "WorkflowCriticalErrors", [e.alert(
                    "WorkflowCriticalErrors", "workflow-service logged 1 critical error(s) in the last 5m.",
                    severity="critical", **WORKFLOW_LABELS)]),
            ],
            "one critical error pages at once",
        ),
        case("1m", {crit: "0x20"}, [("10m", "WorkflowCriticalErrors", [])], "no critical errors are silent"),
        case(
            "1m",
            {up: "1 1 1 0x20", ok: "0+60x23"},
            [("10m", "WorkflowTargetDown", [e.alert(
                "WorkflowTargetDown", "Prometheus cannot scrape 10.0.0.1:8080 of workflow-service in workflow.",
                severity="critical", reason="down", job="workflow-service", namespace="workflow",
                instance="10.0.0.1:8080", service="workflow-service")])],
            "a target down for 5 minutes pages",
        ),
        case("1m", {up: "1x20", ok: "0+60x20"}, [("10m", "WorkflowTargetDown", [])], "a healthy target is silent"),
        case(
            "1m",
            {backup: "0x5"},
            [("10m", "WorkflowTargetDown", [e.alert(
                "WorkflowTargetDown", severity="critical", reason="absent", job="workflow-service",
                namespace="workflow", service="workflow-service")])],
            "no target at all pages (absent-metric protection)",
        ),
        case(
            "1m",
            {up: "1x20"},
            [("10m", "WorkflowTargetDown", [e.alert(
                "WorkflowTargetDown", severity="warning", reason="no-metrics", job="workflow-service",
                namespace="workflow", service="workflow-service")])],
            "a target without request metrics pages",
        ),
        case(
            "1m",
            {backup: "0x80"},
            [
                ("50m", "BackupStale", []),
                ("70m", "BackupStale", [e.alert(
                    "BackupStale",
                    "The last successful workflow-db-backup run was 1h 10m 0s ago; the recovery point objective is 1h.",
                    severity="critical", reason="stale", **backup_labels)]),
            ],
            "a backup older than the 1h RPO pages",
        ),
        case("1m", {backup: "0+60x80"}, [("70m", "BackupStale", [])], "a fresh backup is silent"),
        case(
            "1m",
            {drill: "0x80"},
            [
                ("30m", "BackupStale", []),
                ("70m", "BackupStale", [e.alert("BackupStale", severity="critical", reason="absent", **backup_labels)]),
            ],
            "no backup ever, for longer than the RPO, pages",
        ),
        case(
            "1m",
            {drill: "100x10", start("50"): "50x10", failed("50"): "0x10",
             start("200"): "200x10", failed("200"): "1x10"},
            [("5m", "RestoreDrillFailed", [e.alert(
                "RestoreDrillFailed", severity="warning", reason="failed", **drill_labels)])],
            "a drill that failed after the last good one tickets",
        ),
        case(
            "1m",
            {drill: "100x10", start("50"): "50x10", failed("50"): "1x10",
             start("90"): "90x10", failed("90"): "0x10"},
            [("5m", "RestoreDrillFailed", [])],
            "an old failure followed by a good drill is silent",
        ),
        case(
            "1h",
            {drill: "0x60"},
            [
                ("40h", "RestoreDrillFailed", []),
                ("50h", "RestoreDrillFailed", [e.alert(
                    "RestoreDrillFailed",
                    "The last successful workflow-db-restore-drill run was 2d 2h 0m 0s ago, more than 2 drill "
                    "intervals (2d).",
                    severity="warning", reason="stale", cronjob="workflow-db-restore-drill", **drill_labels)]),
            ],
            "no good drill for two daily runs tickets",
        ),
        case(
            "1h",
            {backup: "0x60"},
            [
                ("40h", "RestoreDrillFailed", []),
                ("50h", "RestoreDrillFailed", [e.alert(
                    "RestoreDrillFailed", severity="warning", reason="absent", cronjob="workflow-db-restore-drill",
                    **drill_labels)]),
            ],
            "a drill that never succeeded tickets after two runs",
        ),
        case("1m", {ok: "0x5"}, [("1m", "Watchdog", [e.alert("Watchdog", severity="none")])], "the heartbeat always fires"),
    ]


def test_every_alert_has_a_firing_and_a_silent_case():
    fired, silent = set(), set()
    for test in production_cases():
        for check in test["alert_rule_test"]:
            (fired if check["exp_alerts"] else silent).add(check["alertname"])
    expected = set(alert_names(load_stage_with("production").config)) - {"Watchdog"}
    assert fired >= expected and silent >= expected, (expected - fired, expected - silent)


def test_promtool_unit_tests_pass_against_production_rules(tmp_path):
    rules = [str(p) for p in write_rules("production", tmp_path / "rules")]
    cases = production_cases()
    group_order = [
        group["name"]
        for document in rule_files(load_stage_with("production").config).values()
        for group in document["groups"]
    ]
    # cases spanning days are evaluated every 10m (no `for` they check is shorter), the rest every minute
    long = [c for c in cases if c["interval"] != "1m"]
    short = [c for c in cases if c["interval"] == "1m"]
    files = []
    for name, interval, tests in (("short", "1m", short), ("long", "10m", long)):
        path = tmp_path / f"{name}.test.yaml"
        path.write_text(dump_yaml({
            "rule_files": rules,
            "evaluation_interval": interval,
            # recording rules before the alerts that read them, as Prometheus' file order does;
            # promtool otherwise picks a random order per step and a 10m step outlives the 5m lookback
            "group_eval_order": group_order,
            "tests": tests,
        }))
        files.append(str(path))
    result = promtool("test", "rules", *files)
    assert result.returncode == 0, result.stdout + result.stderr
