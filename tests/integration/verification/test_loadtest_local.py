"""`wfdeploy loadtest` drives Locust at the reference service and judges the targets from a real Prometheus."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.integration.verification.conftest import set_faults
from wfdeploy.cli import main

pytestmark = pytest.mark.integration


@pytest.fixture
def service(verification_stack):
    """The reference service with its faults switched off again after each test."""
    set_faults(verification_stack.url("service"), error_rate=0, cache_miss_ratio=0)
    yield verification_stack
    set_faults(verification_stack.url("service"), error_rate=0, cache_miss_ratio=0)


def _loadtest(stack, capsys) -> tuple[int, dict, str]:
    code = main([
        "loadtest", "local",
        "--target-url", stack.url("service"),  # loopback only
        "--prometheus-url", stack.url("prometheus"),
        "--users", "8", "--spawn-rate", "20", "--duration", "6s", "--think-time", "0.4",
        # one local process: its CPU from /proc over the stage's CPU request (cAdvisor on a cluster)
        "--cpu-source", f"pid:{stack.pid('service')}",
        "--scrape-timeout", "5",
    ])
    out_dir = Path(os.environ["WFDEPLOY_BUILD_DIR"]) / "results" / "local" / "loadtest"
    return code, json.loads((out_dir / "result.json").read_text()), capsys.readouterr().out


def test_loadtest_meets_the_production_targets_against_a_healthy_service(service, capsys):
    code, result, printed = _loadtest(service, capsys)

    assert code == 0, printed
    assert result["schema"] == "wfdeploy.loadtest/v1" and result["passed"] is True
    figures = {figure["name"]: figure for figure in result["figures"]}
    assert {name: figure["target"] for name, figure in figures.items()} == {
        "average response time": 1.0, "error ratio": 0.001, "CPU / requests": 0.5, "cache hit ratio": 0.8,
    }
    assert all(figure["met"] for figure in figures.values())
    assert result["client"]["requests"] > 30 and result["client"]["failures"] == 0
    assert "loadtest local: PASSED" in printed and "cache hit ratio = 1" in printed


@pytest.mark.parametrize(
    ("fault", "missed"),
    [({"error_rate": 0.2}, "error ratio"), ({"cache_miss_ratio": 0.5}, "cache hit ratio")],
    ids=["20-percent-errors", "half-the-cache-missing"],
)
def test_loadtest_fails_with_the_figures_when_a_fault_breaks_a_target(service, capsys, fault, missed):
    set_faults(service.url("service"), **fault)

    code, result, printed = _loadtest(service, capsys)

    assert code == 1 and result["passed"] is False
    figures = {figure["name"]: figure for figure in result["figures"]}
    assert figures[missed]["met"] is False and figures[missed]["value"] is not None
    assert f"MISS {missed} = " in printed and "loadtest local: FAILED" in printed
    assert figures["average response time"]["met"] is True


def test_cluster_cpu_query_is_valid_promql_that_reports_no_data_without_cadvisor(verification_stack, local_stage):
    from wfdeploy.verification.loadtest import CpuSource, prometheus_value, queries

    promql = queries(local_stage.verification.load_test.service_selector, 60, CpuSource.parse("cadvisor", local_stage))
    # Prometheus parses every query (a syntax error raises); without cAdvisor the CPU figure has no data
    values = {name: prometheus_value(verification_stack.url("prometheus"), query, time.time())
              for name, query in promql.items()}
    assert values["cpu_request_ratio"] is None
