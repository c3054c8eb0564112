"""`wfdeploy verify` runs the testinfra suite against real local processes and records the verdict."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.support.ports import free_port
from tests.support.verify_stack import postgres_host
from tests.support.verify_sandbox import stop
from wfdeploy.cli import main
from wfdeploy.verification.inventory import ConfigFile, HostTarget, Inventory

pytestmark = pytest.mark.integration

HOST_CHECKS = {
    "test_process_runs_as_expected_non_root_user",
    "test_root_filesystem_is_read_only",
    "test_only_expected_paths_are_writable",
    "test_only_expected_ports_listen",
    "test_config_files_have_expected_owner_and_mode",
    "test_no_credentials_in_environment",
    "test_no_credentials_on_disk_outside_secret_mounts",
}


def _verify(inventory: Inventory, tmp_path: Path, capsys) -> tuple[int, dict, str, str]:
    path = inventory.write(tmp_path / "inventory.json")
    code = main(["verify", inventory.stage, "--inventory", str(path)])
    out_dir = Path(os.environ["WFDEPLOY_BUILD_DIR"]) / "results" / inventory.stage / "verify"
    printed = capsys.readouterr().out
    return code, json.loads((out_dir / "result.json").read_text()), (out_dir / "summary.txt").read_text(), printed


def test_verify_passes_against_the_sandboxed_local_tier_and_records_json_and_summary(
    verification_stack, postgres, tmp_path, capsys
):
    inventory = verification_stack.inventory([postgres_host(postgres)])

    code, result, summary, printed = _verify(inventory, tmp_path, capsys)

    assert code == 0, summary
    assert result["schema"] == "wfdeploy.verify/v1" and result["stage"] == "local" and result["passed"] is True
    assert result["release"]["id"].startswith("r-")
    by_check = {(c["check"], c["target"]): c["outcome"] for c in result["checks"]}
    for target in ("workflow-service", "prometheus", "alertmanager", "postgres"):
        for check in HOST_CHECKS - {"test_root_filesystem_is_read_only", "test_only_expected_paths_are_writable",
                                    "test_config_files_have_expected_owner_and_mode"}:
            assert by_check[(check, target)] == "passed", (check, target)
    # the sandboxed processes run on a read-only root like their pods; PostgreSQL is run by pg_ctl directly
    for target in ("workflow-service", "prometheus", "alertmanager"):
        assert by_check[("test_root_filesystem_is_read_only", target)] == "passed"
        assert by_check[("test_only_expected_paths_are_writable", target)] == "passed"
    for target in ("prometheus", "alertmanager", "postgres"):
        assert by_check[("test_config_files_have_expected_owner_and_mode", target)] == "passed"
    for check in ("test_prometheus_has_every_target_up", "test_prometheus_has_this_platforms_rules_loaded",
                  "test_alertmanager_is_ready_and_clustered_as_configured"):
        assert by_check[(check, "")] == "passed"
    assert by_check[("test_elasticsearch_is_healthy_and_receiving_todays_logs", "")] == "not_applicable"
    assert result["counts"]["failed"] == 0 and result["counts"]["passed"] >= 28
    assert summary.startswith("verify local: PASSED") and summary in printed


@pytest.fixture
def careless_process(tmp_path_factory):
    """A process run the way the checks must catch: as root, rw root, a password in env and on disk."""
    workdir = Path(tempfile.mkdtemp(prefix="wf-careless-"))
    (workdir / "app.env").write_text("DATABASE_URL=postgresql://app:not-a-real-password@db:5432/app\n")
    port = free_port()
    process = subprocess.Popen(
        ["/usr/bin/python3", "-m", "http.server", "--bind", "127.0.0.1", str(port)],
        cwd=workdir, env={"PATH": "/usr/bin:/bin", "DATABASE_PASSWORD": "not-a-real-password"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        yield process, port, workdir
    finally:
        stop(process)
        for path in workdir.iterdir():
            path.unlink()
        workdir.rmdir()


def test_verify_fails_and_names_each_problem_of_a_process_that_breaks_the_rules(careless_process, tmp_path, capsys):
    process, port, workdir = careless_process
    target = HostTarget(
        name="careless", role="careless", backend="local://", uid=10001,
        process=rf"http\.server --bind 127\.0\.0\.1 {port}\b", ports=(port, port + 1),
        writable_paths=("/tmp",), config_files=(ConfigFile(str(workdir / "settings.yaml"), 0, 0o644),),
        scan_paths=(str(workdir),),
    )

    code, result, summary, _ = _verify(Inventory("local", (target,)), tmp_path, capsys)

    assert code == 1 and result["passed"] is False
    failed = {c["check"]: c["message"] for c in result["checks"] if c["outcome"] == "failed"}
    assert failed.keys() == HOST_CHECKS
    assert "uid 0" in failed["test_process_runs_as_expected_non_root_user"]
    assert "'rw'" in failed["test_root_filesystem_is_read_only"]
    assert str(port + 1) in failed["test_only_expected_ports_listen"]
    assert "settings.yaml: missing" in failed["test_config_files_have_expected_owner_and_mode"]
    assert "DATABASE_PASSWORD" in failed["test_no_credentials_in_environment"]
    assert "app.env" in failed["test_no_credentials_on_disk_outside_secret_mounts"]
    # a report names credentials, never their values
    assert "not-a-real-password" not in summary + json.dumps(result)
    assert "verify local: FAILED" in summary


def test_verify_records_a_failed_result_when_the_stage_cannot_be_reached(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no kubectl: nothing can be discovered

    code = main(["verify", "production"])

    result = json.loads((Path(os.environ["WFDEPLOY_BUILD_DIR"]) / "results" / "production" / "verify" / "result.json").read_text())
    assert code == 1 and result["passed"] is False and "could not reach the stage" in result["error"]
