"""`wfdeploy verify STAGE` without an inventory: derive, discover with kubectl, port-forward, exec into pods.

No cluster runs here, so `kubectl` is tests/support/verify_fake_kubectl.py: the
workflow service "pod" is the reference service in its own mount, PID and
network namespaces (PID 1, uid 10001, read-only root, scratch /tmp, port 8080),
and the Services forward to the sandboxed Prometheus and Alertmanager.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support.verify_fake_kubectl import install_fake_kubectl
from tests.support.verify_sandbox import pod_process_pid, start_sandboxed, stop
from tests.support.verify_stack import PROJECT_ROOT, SERVICE_UID, SYSTEM_PYTHON
from wfdeploy.cli import main

pytestmark = pytest.mark.integration

SERVICE_SELECTOR = "app.kubernetes.io/name=workflow-service,app.kubernetes.io/part-of=workflow-platform"


@pytest.fixture
def workflow_pod(local_stage, tmp_path):
    """The reference service started like its pod: PID 1 of its namespaces, listening on the configured port."""
    process = start_sandboxed(
        [str(SYSTEM_PYTHON), "-m", "reference_service", "--host", "0.0.0.0", "--port", str(local_stage.service.port)],
        uid=SERVICE_UID, gid=SERVICE_UID, tmpfs=["/tmp"], app_dir=PROJECT_ROOT, pod=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}, log=tmp_path / "pod.log",
    )
    try:
        yield pod_process_pid(process)
    finally:
        stop(process)


def test_verify_discovers_pods_execs_into_them_and_port_forwards_to_the_stage(
    local_stage, verification_stack, workflow_pod, tmp_path, monkeypatch, capsys
):
    monitoring = local_stage.namespaces.monitoring
    env = install_fake_kubectl(
        tmp_path / "bin",
        pods={f"{local_stage.namespaces.workflow}/{SERVICE_SELECTOR}": ["workflow-service-7d9c-abcde"]},
        exec_pids={f"{local_stage.namespaces.workflow}/workflow-service-7d9c-abcde/workflow-service": workflow_pod},
        forwards={
            f"{monitoring}/svc/prometheus-operated": verification_stack.url("prometheus").removeprefix("http://"),
            f"{monitoring}/svc/alertmanager-operated": verification_stack.url("alertmanager").removeprefix("http://"),
        },
    )
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    code = main(["verify", "local"])

    out_dir = Path(os.environ["WFDEPLOY_BUILD_DIR"]) / "results" / "local" / "verify"
    result = json.loads((out_dir / "result.json").read_text())
    inventory = json.loads((out_dir / "inventory.json").read_text())
    outcomes = {(c["check"], c["target"]): (c["outcome"], c["message"]) for c in result["checks"]}
    pod = "workflow-service/workflow-service@workflow-service-7d9c-abcde"

    assert inventory["hosts"][0]["backend"] == (
        "kubectl://workflow-service-7d9c-abcde?namespace=workflow&container=workflow-service"
        f"&context={local_stage.cluster.context}"
    )
    # the pod template's promises hold inside the "pod", checked through kubectl exec
    for check in ("test_process_runs_as_expected_non_root_user", "test_root_filesystem_is_read_only",
                  "test_only_expected_paths_are_writable", "test_only_expected_ports_listen",
                  "test_no_credentials_in_environment", "test_no_credentials_on_disk_outside_secret_mounts"):
        assert outcomes[(check, pod)][0] == "passed", (check, outcomes[(check, pod)])
    # Prometheus and Alertmanager are reached through port-forwards
    assert outcomes[("test_prometheus_has_every_target_up", "")][0] == "passed"
    assert outcomes[("test_prometheus_has_this_platforms_rules_loaded", "")][0] == "passed"
    assert outcomes[("test_alertmanager_is_ready_and_clustered_as_configured", "")][0] == "passed"
    # what this machine does not have fails the verification, by name
    outcome, message = outcomes[("test_elasticsearch_is_healthy_and_receiving_todays_logs", "")]
    assert outcome == "failed" and "not reachable" in message
    assert outcomes[("test_health_endpoints_answer_through_the_edge", "")][0] == "failed"
    assert any(item.startswith("workflow-cache/redis: no running pod") for item in result["missing"])
    assert code == 1 and result["passed"] is False
    assert "missing: workflow-db/postgres" in capsys.readouterr().out
