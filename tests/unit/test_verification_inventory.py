"""The verification inventory of a deployed stage: derived from its configuration, pods found with kubectl."""

import json

import pytest

from tests.stagehelpers import load_stage_with
from wfdeploy.verification.cluster import discover_hosts, managed_workloads, stage_endpoints, synthesized_workloads
from wfdeploy.verification.inventory import ConfigFile, Endpoints, HostTarget, Inventory

DESIGN_ALERTS = {
    "WorkflowAvailabilityBudgetBurn", "WorkflowLatencyHigh", "WorkflowCacheHitRateLow", "WorkflowDBQuerySlow",
    "WorkflowCPUHigh", "WorkflowCriticalErrors", "WorkflowTargetDown", "BackupStale", "RestoreDrillFailed",
}


@pytest.fixture(scope="module")
def production_workloads(synthesized):
    loaded = load_stage_with("production")
    objects = synthesized("production").kubernetes_objects()
    return {w.role: w for w in synthesized_workloads(objects) + managed_workloads(loaded, objects)}


def test_workflow_service_expectations_come_from_its_pod_template(production_workloads):
    workload = production_workloads["workflow-service/workflow-service"]
    expected = workload.expectation
    assert workload.namespace == "workflow"
    assert workload.selector == {
        "app.kubernetes.io/name": "workflow-service", "app.kubernetes.io/part-of": "workflow-platform"
    }
    assert expected.uid == 10001 and expected.read_only_root
    assert expected.ports == (8080,) and expected.writable_paths == ("/tmp",)
    # variables filled from Secret references are the only credentials allowed in the environment
    assert "DATABASE_PASSWORD" in expected.secret_env


def test_mounted_config_maps_become_root_owned_config_files_that_are_not_writable(production_workloads):
    redis = production_workloads["workflow-cache/redis"].expectation
    assert any(f.path == "/etc/redis/redis.conf" and f.owner_uid == 0 for f in redis.config_files)
    assert "/etc/redis" not in redis.writable_paths and "/data" in redis.writable_paths


def test_operator_managed_pods_are_expected_with_upstream_defaults(production_workloads):
    postgres = production_workloads["workflow-db/postgres"]
    assert postgres.selector["cnpg.io/cluster"] == "workflow-db" and postgres.expectation.uid == 26
    assert {"prometheus", "alertmanager", "elasticsearch"} <= set(production_workloads)


def _kubectl(pods_by_selector):
    def run(args):
        selector = args[args.index("-l") + 1]
        return json.dumps({"items": pods_by_selector.get(selector, [])})
    return run


def test_discovery_makes_a_kubectl_host_per_running_pod_and_reports_missing_workloads(production_workloads):
    service = production_workloads["workflow-service/workflow-service"]
    cache = production_workloads["workflow-cache/redis"]
    pods = {service.selector_arg: [
        {"metadata": {"name": "workflow-service-abc"}, "status": {"phase": "Running"}},
        {"metadata": {"name": "workflow-service-old"}, "status": {"phase": "Succeeded"}},
    ]}

    hosts, missing, _ = discover_hosts([service, cache], "workflow-production", _kubectl(pods))

    assert [h.backend for h in hosts] == [
        "kubectl://workflow-service-abc?namespace=workflow&container=workflow-service&context=workflow-production"
    ]
    assert hosts[0].name == "workflow-service/workflow-service@workflow-service-abc"
    assert len(missing) == 1 and missing[0].startswith("workflow-cache/redis: no running pod in workflow-data")


def test_production_endpoints_carry_its_rate_limit_cluster_size_backup_limits_and_alerts():
    loaded = load_stage_with("production")
    endpoints = stage_endpoints(loaded, {"prometheus": "http://127.0.0.1:1"})
    assert endpoints.edge_url == "https://workflow.example.com"
    assert (endpoints.rate_limit_requests, endpoints.rate_limit_unit, endpoints.edge_replicas) == (200, "Second", 3)
    assert endpoints.alertmanager_peers == loaded.config.monitoring.alertmanager.replicas >= 2
    assert endpoints.backup_max_age_seconds == 3600  # production's RPO
    assert endpoints.restore_drill_max_age_seconds == 2 * 86400  # two missed daily drills
    assert DESIGN_ALERTS <= set(endpoints.expected_alerts)


def test_a_single_alertmanager_stage_does_not_ask_for_a_cluster():
    monitoring = {"alertmanager": {"replicas": 1}}
    loaded = load_stage_with("alpha", {"workflow-platform:monitoring": monitoring})
    assert stage_endpoints(loaded, {}).alertmanager_peers == 1


def test_inventory_round_trips_through_json(tmp_path):
    inventory = Inventory(
        "local",
        (HostTarget("svc", "svc", "local://", 10001, "x", (8080,), ("/tmp",), True,
                    (ConfigFile("/etc/a", 0, 0o644),), ("/s",), ("A_PASSWORD",), ("/tmp",)),),
        Endpoints(prometheus_url="http://127.0.0.1:9", expected_alerts=("A",)),
        missing=("m",), notes=("n",),
    )
    assert Inventory.read(inventory.write(tmp_path / "inventory.json")) == inventory


def test_inventory_rejects_unknown_endpoint_keys():
    with pytest.raises(ValueError, match="unknown endpoint keys .'grafana_url'"):
        Inventory.from_dict({"stage": "local", "endpoints": {"grafana_url": "http://x"}})


def test_alertmanager_is_expected_to_open_its_cluster_port_only_with_peers(synthesized):
    def ports(stage, overrides=None):
        loaded = load_stage_with(stage, overrides)
        workloads = managed_workloads(loaded, synthesized(stage).kubernetes_objects())
        return next(w for w in workloads if w.role == "alertmanager").expectation.ports

    assert ports("production") == (9093, 9094)
    assert ports("alpha", {"workflow-platform:monitoring": {"alertmanager": {"replicas": 1}}}) == (9093,)


def test_discovered_host_specs_are_understood_by_testinfras_kubectl_backend(production_workloads):
    import testinfra

    service = production_workloads["workflow-service/workflow-service"]
    pods = {service.selector_arg: [{"metadata": {"name": "workflow-service-abc"}, "status": {"phase": "Running"}}]}
    hosts, _, _ = discover_hosts([service], "workflow-production", _kubectl(pods))

    backend = testinfra.get_host(hosts[0].backend).backend
    assert (backend.NAME, backend.name, backend.namespace, backend.container, backend.context) == (
        "kubectl", "workflow-service-abc", "workflow", "workflow-service", "workflow-production"
    )
    command = backend.get_command("cat /proc/1/status")
    assert command == "cat /proc/1/status"


def test_cronjob_pods_without_a_running_job_are_a_note_not_a_missing_workload():
    cronjob = {
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "workflow-db-backup", "namespace": "workflow-data"},
        "spec": {"jobTemplate": {"spec": {"template": {
            "metadata": {"labels": {"app.kubernetes.io/name": "workflow-db-backup"}},
            "spec": {"securityContext": {"runAsUser": 10002},
                     "containers": [{"name": "backup", "securityContext": {"readOnlyRootFilesystem": True}}]},
        }}}},
    }
    workloads = synthesized_workloads([cronjob])
    hosts, missing, notes = discover_hosts(workloads, "ctx", _kubectl({}))
    assert workloads[0].scheduled and workloads[0].expectation.uid == 10002
    assert hosts == [] and missing == [] and notes[0].startswith("workflow-db-backup/backup: no running pod")
