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
from wfdeploy.render.documents import dump_yaml

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


# -- thresholds pinned from both sides ----------------------------------------------------------------
#
# Inputs are written as numbers, never derived from the thresholds: moving any threshold by a few
# percent (14.4x → 15x or 13.8x, 1s → 1.1s, 80% → 76%, the RPO by 6 minutes …) makes one of these fail.


def ramp(*phases: tuple[float, int]) -> str:
    """A counter from 0 growing by `increment` per interval for `count` intervals, phase after phase."""
    parts, value = ["0"], 0.0
    for increment, count in phases:
        start = round(value + increment, 6)
        parts.append(f"{start:g}+{increment:g}x{count - 1}")
        value = round(value + increment * count, 6)
    return " ".join(parts)


def boundary_cases() -> list[dict[str, Any]]:
    e = Expect("production")
    page = e.alert("WorkflowAvailabilityBudgetBurn", severity="critical", slo="availability", **WORKFLOW_LABELS)
    ticket = e.alert("WorkflowAvailabilityBudgetBurn", severity="warning", slo="availability", **WORKFLOW_LABELS)
    ok = f'http_requests_total{{{W}, route="/workflows", method="GET", code="200"}}'
    err = f'http_requests_total{{{W}, route="/workflows", method="GET", code="500"}}'
    count = f'http_request_duration_seconds_count{{{W}, route="/workflows", method="GET"}}'
    total = f'http_request_duration_seconds_sum{{{W}, route="/workflows", method="GET"}}'
    hit = f'workflow_cache_requests_total{{{W}, result="hit"}}'
    miss = f'workflow_cache_requests_total{{{W}, result="miss"}}'

    def db(le: str) -> str:
        return f'workflow_db_query_duration_seconds_bucket{{{W}, le="{le}"}}'

    cpu = 'container_cpu_usage_seconds_total{namespace="workflow", container="workflow-service", pod="workflow-service-a"}'
    req = ('kube_pod_container_resource_requests{namespace="workflow", container="workflow-service", '
           'pod="workflow-service-a", resource="cpu", unit="core"}')
    up = 'up{job="workflow-service", namespace="workflow", instance="10.0.0.1:8080"}'
    backup = f'kube_cronjob_status_last_successful_time{{{DATA}, cronjob="workflow-db-backup"}}'
    drill = f'kube_cronjob_status_last_successful_time{{{DATA}, cronjob="workflow-db-restore-drill"}}'
    backup_labels = {"namespace": "workflow-data", "cronjob": "workflow-db-backup", "service": "workflow-db"}
    drill_labels = {"namespace": "workflow-data", "service": "workflow-db"}
    burn = "WorkflowAvailabilityBudgetBurn"
    cases = []
    # 1h/5m at 14.4x the 0.1% budget = 1.44% errors. Five healthy hours, then 90 minutes at 1.5% / 1.4%: the
    # 6h window stays below 6x (0.375% / 0.35%), so only the 1h/5m pair decides the page
    for errors, fires in ((15, True), (14, False)):
        cases.append(case("1m", {ok: ramp((1000, 300), (1000 - errors, 90)), err: ramp((0, 300), (errors, 90))},
                          [("390m", burn, [page, ticket] if fires else [ticket])],
                          f"{errors / 10:g}% errors for 90 minutes {'page' if fires else 'do not page'} (1h/5m at 14.4x)"))
    # 6h/30m at 6x = 0.6%: a steady 0.65% pages, 0.55% does not (both ticket: above 3x)
    for errors, fires in ((65, True), (55, False)):
        cases.append(case("1m", {ok: ramp((10000 - errors, 45)), err: ramp((errors, 45))},
                          [("40m", burn, [page, ticket] if fires else [ticket])],
                          f"a steady {errors / 100:g}% {'pages' if fires else 'does not page'} (6h/30m at 6x)"))
    # 1d/2h at 3x = 0.3%, with the 6h window kept below 1x by 3.5 hours of heavy error-free traffic:
    # 18h at 1.45% / 1.30%, 3.5h of 200k requests per 5m without errors, then 2.5h at 1%.
    # Over the day: 0.316% / 0.286% (and so for the last 15 minutes); over 6h: 0.034%; over 1h: 1% (below 14.4x)
    for errors, fires in ((145, True), (130, False)):
        cases.append(case("5m", {ok: ramp((10000 - errors, 216), (200000, 42), (9900, 30)),
                                 err: ramp((errors, 216), (0, 42), (100, 30))},
                          [("24h", burn, [ticket] if fires else [])],
                          f"{'0.316' if fires else '0.286'}% over the day {'tickets' if fires else 'does not ticket'} "
                          "(1d/2h at 3x)"))
    # 3d/6h at 1x = 0.1%: a steady 0.11% tickets, 0.09% does not
    for errors, fires in ((11, True), (9, False)):
        cases.append(case("5m", {ok: ramp((10000 - errors, 90)), err: ramp((errors, 90))},
                          [("7h", burn, [ticket] if fires else [])],
                          f"a steady {errors / 100:g}% {'tickets' if fires else 'does not ticket'} (3d/6h at 1x)"))
    # average latency above 1s: 1.05s fires, 0.95s is silent
    for per_minute, fires in ((63, True), (57, False)):
        cases.append(case("1m", {count: "0+60x30", total: f"0+{per_minute}x30"},
                          [("20m", "WorkflowLatencyHigh", [e.alert(
                              "WorkflowLatencyHigh",
                              f"Average response time of workflow-service is {per_minute / 60:g}s (threshold 1s over 5m).",
                              severity="warning", **WORKFLOW_LABELS)] if fires else [])],
                          f"{per_minute / 60:g}s average latency {'fires' if fires else 'is silent'} (1s)"))
    # cache hit ratio below 80%: 78% fires, 82% is silent
    for hits, fires in ((78, True), (82, False)):
        cases.append(case("1m", {hit: f"0+{hits}x40", miss: f"0+{100 - hits}x40"},
                          [("30m", "WorkflowCacheHitRateLow", [e.alert(
                              "WorkflowCacheHitRateLow",
                              f"Cache hit ratio of workflow-service is {hits}% (threshold 80% over 10m).",
                              severity="warning", **WORKFLOW_LABELS)] if fires else [])],
                          f"{hits}% cache hits {'fire' if fires else 'are silent'} (80%)"))
    # p95 above 100 ms: 94.9% of 1000 queries per minute under 100 ms puts p95 at 102.9 ms (fires),
    # 95.1% at 99.9 ms (silent); also pins the quantile (p90 or p99 would flip one of them)
    for under, fires in ((949, True), (951, False)):
        cases.append(case("1m", {db("0.05"): "0+500x30", db("0.1"): f"0+{under}x30", db("0.25"): "0+1000x30",
                                 db("+Inf"): "0+1000x30"},
                          [("20m", "WorkflowDBQuerySlow", [e.alert(
                              "WorkflowDBQuerySlow",
                              "p95 database query time of workflow-service is 102.9ms (threshold 100ms over 5m).",
                              severity="warning", **WORKFLOW_LABELS)] if fires else [])],
                          f"{under / 10:g}% of queries under 100 ms {'fire' if fires else 'are silent'} (p95 > 100 ms)"))
    # CPU above 50% of the request: 52% fires, 48% is silent
    for seconds, fires in ((31.2, True), (28.8, False)):
        cases.append(case("1m", {cpu: f"0+{seconds:g}x40", req: "1x40"},
                          [("25m", "WorkflowCPUHigh", [e.alert(
                              "WorkflowCPUHigh",
                              "The workflow-service containers in workflow use 52% of their CPU requests (threshold 50%); "
                              "the autoscaler is not keeping up.",
                              severity="warning", **WORKFLOW_LABELS)] if fires else [])],
                          f"{seconds / 0.6:g}% of requested CPU {'fires' if fires else 'is silent'} (50%)"))
    # a target down from minute 3 pages after 5 minutes: not at 7m, at 9m
    cases.append(case("1m", {up: "1 1 1 0x20", ok: "0+60x23"},
                      [("7m", "WorkflowTargetDown", []),
                       ("9m", "WorkflowTargetDown", [e.alert(
                           "WorkflowTargetDown", "Prometheus cannot scrape 10.0.0.1:8080 of workflow-service in workflow.",
                           severity="critical", reason="down", job="workflow-service", namespace="workflow",
                           instance="10.0.0.1:8080", service="workflow-service")])],
                      "a target down for 4 minutes is silent, for 6 minutes pages (for 5m)"))
    # the last good backup at 0: older than the 1h RPO from minute 61, paging 5 minutes later
    cases.append(case("1m", {backup: "0x80"},
                      [("64m", "BackupStale", []),
                       ("66m", "BackupStale", [e.alert(
                           "BackupStale",
                           "The last successful workflow-db-backup run was 1h 6m 0s ago; the recovery point objective is 1h.",
                           severity="critical", reason="stale", **backup_labels)])],
                      "a backup 64 minutes old is silent, 66 minutes pages (RPO 1h, for 5m)"))
    cases.append(case("1m", {drill: "0x80"},
                      [("59m", "BackupStale", []),
                       ("61m", "BackupStale", [e.alert("BackupStale", severity="critical", reason="absent",
                                                       **backup_labels)])],
                      "no backup ever: silent at 59 minutes, pages at 61 (the RPO)"))
    # two daily drills missed = 48h
    cases.append(case("1h", {drill: "0x60"},
                      [("47h", "RestoreDrillFailed", []),
                       ("49h", "RestoreDrillFailed", [e.alert(
                           "RestoreDrillFailed",
                           "The last successful workflow-db-restore-drill run was 2d 1h 0m 0s ago, more than 2 drill "
                           "intervals (2d).",
                           severity="warning", reason="stale", cronjob="workflow-db-restore-drill", **drill_labels)])],
                      "the last good drill 47h ago is silent, 49h tickets (2 daily runs)"))
    cases.append(case("1h", {backup: "0x60"},
                      [("47h", "RestoreDrillFailed", []),
                       ("49h", "RestoreDrillFailed", [e.alert(
                           "RestoreDrillFailed", severity="warning", reason="absent", cronjob="workflow-db-restore-drill",
                           **drill_labels)])],
                      "no drill ever: silent at 47h, tickets at 49h (2 daily runs)"))
    return cases


def test_every_numeric_threshold_has_a_case_just_above_and_just_below():
    names = [test["name"] for test in boundary_cases()]
    for marker in ("14.4x", "6h/30m at 6x", "1d/2h at 3x", "3d/6h at 1x", "(1s)", "(80%)", "(p95 > 100 ms)", "(50%)",
                   "(for 5m)", "RPO 1h", "(the RPO)", "(2 daily runs)"):
        pinned = [name for name in names if marker in name]
        assert pinned, f"no boundary case for {marker}"
    fired_and_silent = {}
    for test in boundary_cases():
        for check in test["alert_rule_test"]:
            fired_and_silent.setdefault(check["alertname"], set()).add(bool(check["exp_alerts"]))
    expected = set(alert_names(load_stage_with("production").config)) - {"Watchdog", "WorkflowCriticalErrors"}
    assert {name for name, seen in fired_and_silent.items() if seen == {True, False}} >= expected


def test_every_alert_has_a_firing_and_a_silent_case():
    fired, silent = set(), set()
    for test in production_cases():
        for check in test["alert_rule_test"]:
            (fired if check["exp_alerts"] else silent).add(check["alertname"])
    expected = set(alert_names(load_stage_with("production").config)) - {"Watchdog"}
    assert fired >= expected and silent >= expected, (expected - fired, expected - silent)


def test_promtool_unit_tests_pass_against_production_rules(tmp_path):
    rules = [str(p) for p in write_rules("production", tmp_path / "rules")]
    cases = production_cases() + boundary_cases()
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
