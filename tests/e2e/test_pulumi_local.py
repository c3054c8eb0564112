"""The `local` stage deployed by the real Pulumi CLI and engine onto `wfdeploy cluster up`.

One module-scoped deployment: init (passphrase, crds-only charts) -> preview with the policy pack
-> up -> preview --expect-no-changes -> each object checked against its rendered manifest -> destroy.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.fidelity import cluster_differences
from wfdeploy.cluster.offline_pulumi import offline_env, workspace_copy

STAGE = "local"
#: Test stacks only; real stages use their own secrets providers (README).
PASSPHRASE = "e2e-test-stacks-only"
SUBSTITUTIONS = ("workflow-platform:substitutions.chartReleases=crds-only",)


class Workspace:
    def __init__(self, project: Path, env: dict[str, str]) -> None:
        self.project, self.env = project, env

    def run(self, *args: str, timeout: float = 1500) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, *args], cwd=self.project, env=self.env, capture_output=True,
                              text=True, timeout=timeout, check=False)

    def driver(self, *args: str, timeout: float = 1500) -> subprocess.CompletedProcess:
        return self.run("-m", "wfdeploy.cluster.stack_driver", *args, timeout=timeout)


def _report(completed: subprocess.CompletedProcess) -> str:
    return f"exit {completed.returncode}\n--- stdout\n{completed.stdout[-6000:]}\n--- stderr\n{completed.stderr[-6000:]}"


def _last_json(completed: subprocess.CompletedProcess) -> dict[str, Any]:
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def workspace(cluster, tmp_path_factory):
    root = tmp_path_factory.mktemp("pulumi-local")
    project = workspace_copy(root)
    env = offline_env(root / "state", cluster["env"]["KUBECONFIG"], PASSPHRASE, base=cluster["env"])
    env["WFDEPLOY_BUILD_DIR"] = str(project / "build")
    ws = Workspace(project, env)
    init = ws.driver("init", STAGE, *[f"--config={c}" for c in SUBSTITUTIONS])
    assert init.returncode == 0, _report(init)
    return ws


@pytest.fixture(scope="module")
def previewed(workspace):
    return workspace.driver("preview", STAGE, "--policy-pack")


@pytest.fixture(scope="module")
def deployed(workspace, previewed):
    return workspace.driver("up", STAGE, "--policy-pack")


def test_preview_with_the_policy_pack_passes_with_no_violation(previewed):
    assert previewed.returncode == 0, _report(previewed)
    assert "mandatory" not in previewed.stdout.lower()
    assert _last_json(previewed)["changeSummary"].get("create", 0) > 100


def test_up_creates_every_resource(deployed, previewed):
    assert deployed.returncode == 0, _report(deployed)
    summary = _last_json(deployed)
    assert summary["result"] == "succeeded"
    assert summary["resourceChanges"]["create"] == _last_json(previewed)["changeSummary"]["create"]


def test_a_second_preview_expects_no_changes(workspace, deployed):
    assert deployed.returncode == 0
    again = workspace.driver("preview", STAGE, "--expect-no-changes")
    assert again.returncode == 0, _report(again)


def test_every_object_in_the_cluster_matches_its_rendered_manifest(workspace, deployed, cluster):
    assert deployed.returncode == 0
    # the same stage settings offline; the gates judge unsubstituted stages (the connectivity gate rightly
    # notes that chart pods are absent when charts are left out), here only the written objects matter
    rendered = workspace.run("-m", "wfdeploy", "render", STAGE, "--skip-gates", timeout=900)
    assert rendered.returncode == 0, _report(rendered)
    manifests = workspace.project / "build" / STAGE / "manifests"
    assert len(list(manifests.rglob("*.yaml"))) > 100
    problems = cluster_differences(cluster["api"], manifests)
    assert problems == []


def test_a_privileged_container_is_refused_by_the_policy_pack_naming_the_policy(workspace, deployed):
    broken = workspace.run(str(Path(__file__).with_name("policy_breaker.py")), STAGE, "privileged")
    assert broken.returncode == 1, _report(broken)
    assert "pod-security-restricted" in broken.stdout + broken.stderr
    assert "privileged" in broken.stdout + broken.stderr


def test_destroy_leaves_no_object_of_the_platform_behind(workspace, deployed, cluster):
    destroyed = workspace.driver("destroy", STAGE)
    assert destroyed.returncode == 0, _report(destroyed)
    api = cluster["api"]
    selector = "labelSelector=app.kubernetes.io%2Fpart-of%3Dworkflow-platform"
    left = [item["metadata"]["name"] for item in api.get(f"/api/v1/namespaces?{selector}")["items"]]
    left += [item["metadata"]["name"] for item in api.get(f"/apis/rbac.authorization.k8s.io/v1/clusterroles?{selector}")["items"]]
    assert left == []


def test_a_bad_stack_file_fails_preview_with_the_validate_message_and_no_traceback(cluster, tmp_path):
    project = workspace_copy(tmp_path)
    env = offline_env(tmp_path / "state", cluster["env"]["KUBECONFIG"], PASSPHRASE, base=cluster["env"])
    ws = Workspace(project, env)
    stack_file = project / "stacks" / f"Pulumi.{STAGE}.yaml"
    text = stack_file.read_text()
    assert "    replicas: 1\n" in text
    stack_file.write_text(text.replace("    replicas: 1\n", "    replicas: -1\n", 1))
    validated = ws.run("-m", "wfdeploy", "validate", STAGE)
    expected = "workflow-platform:service.replicas: Input should be greater than or equal to 1 (got -1)"
    assert expected in validated.stderr + validated.stdout
    previewed = ws.driver("preview", STAGE)
    assert previewed.returncode == 1, _report(previewed)
    assert expected in previewed.stderr
    assert "Traceback" not in previewed.stdout + previewed.stderr


def test_an_up_interrupted_by_sigint_is_completed_by_the_next_up(workspace, cluster):
    import os
    import signal
    import time

    api = cluster["api"]
    interrupted = subprocess.Popen([sys.executable, "-m", "wfdeploy.cluster.stack_driver", "up", STAGE],
                                   cwd=workspace.project, env=workspace.env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 600
        # interrupt once the update is under way: the first namespace exists, the rest does not yet
        while not [n for n in api.get("/api/v1/namespaces?labelSelector=app.kubernetes.io%2Fpart-of%3Dworkflow-platform")["items"]]:
            assert interrupted.poll() is None, "up finished before it could be interrupted"
            assert time.monotonic() < deadline, "up never started creating objects"
            time.sleep(0.2)
        os.killpg(interrupted.pid, signal.SIGINT)
        out, err = interrupted.communicate(timeout=600)
    finally:
        if interrupted.poll() is None:
            os.killpg(interrupted.pid, signal.SIGKILL)
    assert interrupted.returncode != 0, f"the interrupted up reported success:\n{out[-3000:]}"
    completed = workspace.driver("up", STAGE)
    assert completed.returncode == 0, _report(completed)
    assert _last_json(completed)["result"] == "succeeded"
    again = workspace.driver("preview", STAGE, "--expect-no-changes")
    assert again.returncode == 0, _report(again)
    destroyed = workspace.driver("destroy", STAGE)
    assert destroyed.returncode == 0, _report(destroyed)
