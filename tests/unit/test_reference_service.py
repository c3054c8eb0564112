"""The reference service speaks the service and metric contract, and its faults switch."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest

from reference_service.app import WorkflowService, make_server
from reference_service.faults import FaultSwitch
from tests.stagehelpers import PROJECT_ROOT
from tests.support.monitoring_stack import http_json, wait_until
from tests.support.ports import free_port


@pytest.fixture
def service():
    app = WorkflowService("workflow-service", environ={})
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def metrics(url: str) -> str:
    with urllib.request.urlopen(f"{url}/metrics") as response:
        return response.read().decode()


def test_metrics_cover_the_contract_with_its_labels(service):
    _, url = service
    created = http_json(f"{url}/workflows", {"name": "a"})
    http_json(f"{url}/workflows/{created['id']}")
    http_json(f"{url}/workflows/{created['id']}/run", {})
    text = metrics(url)
    assert 'http_requests_total{code="201",method="POST",route="/workflows",service="workflow-service"} 1.0' in text
    assert 'http_request_duration_seconds_bucket{method="GET",route="/workflows/{id}",service="workflow-service",le="1.0"}' in text
    assert 'workflow_cache_requests_total{result="hit",service="workflow-service"} 2.0' in text
    assert 'workflow_db_query_duration_seconds_bucket{service="workflow-service",le="0.1"}' in text
    assert 'workflow_errors_total{service="workflow-service",severity="critical"} 0.0' in text
    assert 'workflow_executions_total{service="workflow-service",status="succeeded"} 1.0' in text


def test_error_fault_turns_requests_into_500s(service):
    app, url = service
    http_json(f"{url}/admin/faults", {"error_rate": 1.0, "critical_errors": True})
    with pytest.raises(urllib.error.HTTPError) as error:
        http_json(f"{url}/workflows")
    assert error.value.code == 500
    assert app.metrics.errors.value(service="workflow-service", severity="critical") == 1


def test_bad_fault_values_are_refused_naming_the_fault(service):
    _, url = service
    with pytest.raises(urllib.error.HTTPError) as error:
        http_json(f"{url}/admin/faults", {"cache_miss_ratio": 2})
    assert error.value.code == 400 and "cache_miss_ratio" in error.value.read().decode()


def test_faults_are_read_from_the_environment():
    faults = FaultSwitch.from_environment({"FAULT_ERROR_RATE": "0.25", "FAULT_CRITICAL_ERRORS": "true"}).current()
    assert faults.error_rate == 0.25 and faults.critical_errors is True


def test_readyz_fails_when_the_database_is_unreachable():
    app = WorkflowService("workflow-service", environ={"DATABASE_HOST": "127.0.0.1", "DATABASE_PORT": str(free_port())})
    assert app.dependencies_ready() and "database" in app.dependencies_ready()[0]


def test_sigterm_stops_gracefully_with_ecs_logs():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "reference_service", "--port", str(port), "--host", "127.0.0.1"],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        wait_until(lambda: http_json(f"http://127.0.0.1:{port}/healthz")["status"] == "ok", 10, "service")
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert all({"@timestamp", "log.level", "message"} <= set(line) for line in lines)
    assert lines[-1]["message"] == "stopped"
