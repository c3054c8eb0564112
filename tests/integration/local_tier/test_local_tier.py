"""The local tier end to end: `up` plays the rendered `local` stage under podman, `verify` checks the
containers with the tests/verify suite through podman://, `down` leaves nothing behind.

One `up` per module (images built or found cached, root filesystems cached between runs);
every pod, secret, volume, stand-in and image the module created is removed at the end.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from wfdeploy.local.data import port_in_use
from wfdeploy.local.images import build_images
from wfdeploy.local.podman import Podman
from wfdeploy.local.tier import TierState, down, state_dir, up
from wfdeploy.paths import results_dir
from wfdeploy.stages import load_stage

pytestmark = pytest.mark.integration

STAGE = "local"
#: The stage's own ports: the tier runs on the host network, so these must be free.
STAGE_PORTS = (8080, 6379, 9121, 5432, 7070)


def podman_inventory(podman: Podman) -> dict[str, set[str]]:
    """What podman holds now: pods, containers, secrets, volumes, images."""
    def names(*args: str) -> set[str]:
        return set(podman.run(*args).stdout.split())

    return {
        "pods": names("pod", "ps", "--format", "{{.Name}}"),
        "containers": names("ps", "-a", "--format", "{{.Names}}"),
        "secrets": names("secret", "ls", "--format", "{{.Name}}"),
        "volumes": names("volume", "ls", "--format", "{{.Name}}"),
        "images": names("images", "--format", "{{.Repository}}:{{.Tag}}"),
        "image_ids": names("images", "--all", "--quiet", "--no-trunc"),
    }


@pytest.fixture(scope="module")
def tier(tmp_path_factory):
    """`wfdeploy up local` once for the module; `down` (images included) afterwards, whatever happened."""
    busy = [port for port in STAGE_PORTS if port_in_use(port)]
    if busy:
        pytest.fail(f"the local tier runs on the stage's own ports; in use on 127.0.0.1: {busy}")
    build = tmp_path_factory.mktemp("local-tier") / "build"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WFDEPLOY_BUILD_DIR", str(build))
        podman = Podman()
        before = podman_inventory(podman)
        messages: list[str] = []
        try:
            result = up(load_stage(STAGE), log=messages.append)
            yield {"result": result, "before": before, "podman": podman, "messages": messages, "build": build}
        finally:
            if TierState.load(STAGE) is not None:
                down(STAGE, remove_images=True, log=messages.append)


@pytest.fixture(autouse=True)
def _tier_build_dir(_isolated_build_dir, tier, monkeypatch):
    """Every test of this module looks at the one build folder the module's `up` used."""
    monkeypatch.setenv("WFDEPLOY_BUILD_DIR", str(tier["build"]))


def _exec(podman: Podman, container: str, *command: str) -> subprocess.CompletedProcess:
    return podman.run("exec", container, *command, check=False)


def test_up_plays_every_workload_the_platform_defines(tier):
    state = tier["result"].state
    played = {entry["source"]: entry["name"] for entry in state.pods}
    assert played["Deployment workflow/workflow-service"] == "workflow-service"
    assert played["StatefulSet workflow-data/workflow-cache"] == "workflow-cache-0"
    assert "CronJob workflow-data/workflow-db-backup" in played
    assert "CronJob workflow-data/workflow-db-restore-drill" in played
    assert state.ready
    running = set(tier["podman"].run("ps", "--format", "{{.Names}}").stdout.split())
    assert {"workflow-service-workflow-service", "workflow-cache-0-redis", "workflow-cache-0-redis-exporter"} <= running
    stood_in = " ".join(state.skipped)
    assert "Cluster workflow-data/workflow-db: replaced by loopback postgresql" in stood_in
    assert "Deployment workflow-data/workflow-backup-store: replaced by loopback s3" in stood_in


def _job(tier, cronjob: str):
    return next(job for job in tier["result"].state.job_runs if job.source == f"CronJob workflow-data/{cronjob}")


def test_backup_job_uploads_a_verified_backup_to_the_store(tier):
    backup = _job(tier, "workflow-db-backup")
    assert backup.exit_code == 0, Path(backup.log_file).read_text()[-2000:]
    import boto3

    # the S3 stand-in accepts any credentials; these are not the pods' (generated) ones
    s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:7070", region_name="us-east-1",
                      aws_access_key_id="local-tier", aws_secret_access_key="local-tier")
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket="workflow-backups").get("Contents", [])]
    assert any(key.endswith("/dump.pgcustom") for key in keys), keys
    assert any(key.endswith("manifest.json") for key in keys), keys


def test_restore_drill_restores_the_backup_that_ran_before_it(tier):
    drill = _job(tier, "workflow-db-restore-drill")
    ordered = [job.source for job in tier["result"].state.job_runs]
    assert ordered.index(_job(tier, "workflow-db-backup").source) < ordered.index(drill.source)
    assert drill.exit_code == 0, Path(drill.log_file).read_text()[-2000:]


def test_rendered_security_context_is_enforced_by_podman(tier):
    podman = tier["podman"]
    container = "workflow-service-workflow-service"
    assert _exec(podman, container, "id", "-u").stdout.strip() == "10001"
    denied = _exec(podman, container, "sh", "-c", "echo x > /opt/workflow-platform/written")
    assert denied.returncode != 0 and "Read-only file system" in denied.stderr
    assert _exec(podman, container, "sh", "-c", "echo x > /tmp/scratch-test").returncode == 0  # the emptyDir


def test_secret_values_reach_the_pods_but_no_file_or_message(tier):
    podman = tier["podman"]
    password = _exec(podman, "workflow-service-workflow-service", "printenv", "DATABASE_PASSWORD").stdout.strip()
    assert len(password) >= 24  # generated locally: the rendered Secret is redacted
    cache_password = _exec(podman, "workflow-cache-0-redis", "printenv", "REDIS_PASSWORD").stdout.strip()
    assert cache_password and cache_password != password
    written = state_dir(STAGE)
    for path in [p for p in written.rglob("*") if p.is_file()]:
        text = path.read_text(errors="replace")
        assert password not in text and cache_password not in text, f"a secret value was written to {path}"
    assert not any(password in message for message in tier["messages"])


def test_verify_local_runs_the_suite_through_podman_backend(tier):
    from wfdeploy.verification.local import verify_local

    result = verify_local(load_stage(STAGE))
    host_checks = [check for check in result.checks if check.kind == "host"]
    assert host_checks and all("@" in check.target for check in host_checks)
    inventory = json.loads((results_dir(STAGE, tier["build"]) / "verify" / "inventory.json").read_text())
    assert {host["backend"] for host in inventory["hosts"]} == {
        "podman://workflow-service-workflow-service", "podman://workflow-cache-0-redis",
        "podman://workflow-cache-0-redis-exporter",
    }
    outcomes = {(check.check, check.target): check.outcome for check in result.checks}
    assert outcomes[("test_prometheus_has_every_target_up", "")] == "passed"
    assert outcomes[("test_health_endpoints_answer_through_the_edge", "")] == "passed"
    assert result.passed, result.summary()


def test_images_are_not_rebuilt_when_nothing_changed(tier):
    names = sorted(set(load_stage(STAGE).config.local_tier.images.values()))
    again = build_images(names, log=lambda message: None)
    assert not any(image.built for image in again.values())
    assert {image.tag for image in again.values()} == set(tier["result"].state.images.values())


def test_down_removes_everything_up_created(tier):
    podman = tier["podman"]
    built = set(tier["result"].state.images_built)
    assert down(STAGE, remove_images=True, log=tier["messages"].append)
    after = podman_inventory(podman)
    before = tier["before"]
    for kind in ("pods", "containers", "secrets", "volumes"):
        assert after[kind] - before[kind] == set(), f"{kind} left behind: {after[kind] - before[kind]}"
    assert not (built & after["images"]), f"images left behind: {built & after['images']}"
    assert after["image_ids"] <= before["image_ids"], "untagged images left behind"
    assert not any(port_in_use(port) for port in STAGE_PORTS)
    assert TierState.load(STAGE) is None
