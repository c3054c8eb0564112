"""The production migration scripts: phase targets, the restore Job, and shell syntax."""

from __future__ import annotations

import importlib.util
import subprocess

import pytest

from tests.stagehelpers import PROJECT_ROOT, find_object, load_stage_with

MIGRATION = PROJECT_ROOT / "scripts" / "migration"


def module(name: str):
    spec = importlib.util.spec_from_file_location(f"migration_{name}", MIGRATION / f"{name}.py")
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:production::workflow-platform::{type_}::{name}"


PROVIDER = urn("pulumi:providers:kubernetes", "cluster")
PREVIEW = {
    "steps": [
        {"newState": {"urn": urn("pulumi:pulumi:Stack", "workflow-platform-production"), "type": "pulumi:pulumi:Stack"}},
        {"newState": {"urn": PROVIDER, "type": "pulumi:providers:kubernetes"}},
        {"newState": {"urn": urn("wf:data:Data", "data"), "type": "wf:data:Data"}},
        {"newState": {"urn": urn("random:index/randomPassword:RandomPassword", "db-password"), "type": "random:index/randomPassword:RandomPassword"}},
        {
            "newState": {
                "urn": urn("kubernetes:core/v1:Secret", "db-app"),
                "type": "kubernetes:core/v1:Secret",
                "parent": urn("wf:data:Data", "data"),
                "provider": f"{PROVIDER}::0a1b",
                "inputs": {"metadata": {"namespace": "workflow-data"}},
                "propertyDependencies": {"stringData": [urn("random:index/randomPassword:RandomPassword", "db-password")]},
            }
        },
        {"newState": {"urn": urn("kubernetes:helm.sh/v4:Chart", "cnpg"), "type": "kubernetes:helm.sh/v4:Chart", "provider": f"{PROVIDER}::0a1b"}},
        {"newState": {"urn": urn("kubernetes:apps/v1:Deployment", "workflow"), "type": "kubernetes:apps/v1:Deployment", "inputs": {"metadata": {"namespace": "workflow"}}}},
    ]
}


def test_operator_phase_targets_charts_with_their_providers_but_not_the_service():
    targets = module("targets")
    chosen = targets.targets(PREVIEW, targets.phase_selector("operators", None))
    assert urn("kubernetes:helm.sh/v4:Chart", "cnpg") in chosen and PROVIDER in chosen
    assert urn("kubernetes:apps/v1:Deployment", "workflow") not in chosen
    assert not any("pulumi:pulumi:Stack" in item for item in chosen)


def test_operator_phase_also_targets_charts_installed_as_helm_releases():
    # charts whose hooks matter (Envoy Gateway, kube-prometheus-stack, cert-manager) are helm.v3.Release
    targets = module("targets")
    release = urn("kubernetes:helm.sh/v3:Release", "monitoring-stack")
    preview = {"steps": PREVIEW["steps"] + [
        {"newState": {"urn": release, "type": "kubernetes:helm.sh/v3:Release", "provider": f"{PROVIDER}::0a1b"}}
    ]}
    assert release in targets.targets(preview, targets.phase_selector("operators", None))


def test_data_phase_targets_the_data_namespace_with_parents_and_dependencies():
    targets = module("targets")
    chosen = targets.targets(PREVIEW, targets.phase_selector("data", "workflow-data"))
    assert urn("kubernetes:core/v1:Secret", "db-app") in chosen
    assert urn("wf:data:Data", "data") in chosen  # its parent component
    assert urn("random:index/randomPassword:RandomPassword", "db-password") in chosen  # what it depends on
    assert urn("kubernetes:apps/v1:Deployment", "workflow") not in chosen


def test_restore_job_reuses_the_backup_cronjob_and_points_at_the_source_backup(synthesized):
    data_namespace = load_stage_with("production").config.namespaces.data
    cronjob = find_object(synthesized("production"), "CronJob", "workflow-db-backup")
    job = module("restore_job").restore_job(cronjob, "workflow-db-migration-restore", "restore", "old-bucket", "old/prefix", "20260101T000000Z")
    [container] = job["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["BACKUP_BUCKET"] == "old-bucket" and env["BACKUP_PREFIX"] == "old/prefix"
    assert container["command"] == [
        "python3", "-m", "components.backup.job", "restore",
        "--target-database", env["PGDATABASE"], "--backup-id", "20260101T000000Z",
    ]
    assert job["metadata"]["namespace"] == cronjob["metadata"]["namespace"]
    template_labels = cronjob["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert job["spec"]["template"]["metadata"]["labels"] == template_labels  # same network policies apply
    assert job["spec"]["backoffLimit"] == 0
    assert data_namespace  # the scripts read it from the stack file


@pytest.mark.parametrize("script", ["00-preflight", "10-operators", "20-data-tier", "30-restore", "40-cutover", "50-validate", "common.sh"])
def test_migration_shell_scripts_parse(script):
    result = subprocess.run(["bash", "-n", str(MIGRATION / script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
