"""The load test's targets are the stage's monitoring thresholds; its settings are validated like any section."""

import math

import pytest

from components.config import ConfigError
from tests.stagehelpers import load_stage_with
from wfdeploy.cli import build_parser
from wfdeploy.verification.loadtest import CpuSource, Figure, Targets, queries


def test_production_targets_are_the_issue_targets():
    targets = Targets.from_config(load_stage_with("production").config)
    assert targets == Targets(max_average_seconds=1.0, max_error_ratio=0.001, max_cpu_request_ratio=0.5,
                              min_cache_hit_ratio=0.8)


def test_targets_follow_the_stage_monitoring_thresholds():
    monitoring = {"slo": {"availabilityTarget": 0.99}, "alerts": {"WorkflowCacheHitRateLow": {"minHitRatio": 0.9}}}
    targets = Targets.from_config(load_stage_with("staging", {"workflow-platform:monitoring": monitoring}).config)
    assert targets.max_error_ratio == 0.01 and targets.min_cache_hit_ratio == 0.9


def test_cluster_cpu_is_cadvisor_usage_over_kube_state_metrics_requests():
    config = load_stage_with("production").config
    promql = queries('service="workflow-service"', 300, CpuSource.parse("cadvisor", config))
    container = 'namespace="workflow",container="workflow-service"'
    assert f"container_cpu_usage_seconds_total{{{container}}}[300s]" in promql["cpu_request_ratio"]
    assert f'kube_pod_container_resource_requests{{{container},resource="cpu"}}' in promql["cpu_request_ratio"]
    assert 'code=~"5.."' in promql["error_ratio"] and 'result="hit"' in promql["cache_hit_ratio"]


def test_local_cpu_sources_divide_by_the_stage_cpu_request():
    config = load_stage_with("local").config  # cpuRequest 100m
    assert CpuSource.parse("process-metric", config).requested_cores == 0.1
    assert "/ 0.1" in queries("service=\"x\"", 10, CpuSource.parse("process-metric", config))["cpu_request_ratio"]
    assert CpuSource.parse("pid:123", config).pid == 123
    with pytest.raises(ValueError, match="cadvisor, process-metric or pid:N"):
        CpuSource.parse("pid:abc", config)


def test_a_figure_without_data_is_a_missed_target():
    assert not Figure("cache hit ratio", None, 0.8, ">=").met
    assert not Figure("error ratio", math.nan, 0.001, "<=").met
    assert Figure("error ratio", 0.001, 0.001, "<=").met and not Figure("latency", 1.0, 1.0, "<").met


def test_request_mix_names_only_known_operations():
    with pytest.raises(ConfigError, match=r"workflow-platform:verification\.loadTest\.requestMix"):
        load_stage_with("alpha", {"workflow-platform:verification": {"loadTest": {"requestMix": {"deleteAll": 1}}}})
    with pytest.raises(ConfigError, match="at least one above zero"):
        load_stage_with("alpha", {"workflow-platform:verification": {"loadTest": {"requestMix": {"getWorkflow": 0}}}})


def test_verify_and_loadtest_are_wfdeploy_verbs():
    verbs = build_parser()._subparsers._group_actions[0].choices
    assert {"verify", "loadtest"} <= set(verbs)


def test_loadtest_rejects_an_unknown_cpu_source_before_sending_traffic(capsys):
    from wfdeploy.cli import main

    assert main(["loadtest", "local", "--prometheus-url", "http://127.0.0.1:9", "--cpu-source", "top"]) == 2
    assert "cadvisor, process-metric or pid:N" in capsys.readouterr().err


def test_loadtest_without_a_reachable_prometheus_exits_2_without_load(tmp_path, monkeypatch, capsys):
    from wfdeploy.cli import main

    monkeypatch.setenv("PATH", str(tmp_path))  # no kubectl to port-forward with
    assert main(["loadtest", "production"]) == 2
    assert "could not reach the stage's Prometheus" in capsys.readouterr().err
