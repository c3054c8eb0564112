"""Promotion for real: `wfdeploy promote` and `rollback` through the Automation API, alpha -> staging.

alpha runs on the session's cluster, staging on a second `cluster up` of its own: the stages declare
the same namespaces and cluster-scoped objects, so like on real clusters each needs its own. The
test stacks come from the real stack files by settings only (tests/e2e/chain.py). production is
not deployed: its promotion is refused for want of confirmation, which is checked before anything
else. `wfdeploy verify` needs running pods, which kwok does not have: where a promotion verifies,
tests/e2e/verify_stand_in.py stands in for it (the API server's view of the rollout); the refusals
run the unmodified `wfdeploy` command line.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from components.config import read_stack_file, stack_file_path
from tests.e2e.chain import derive_stack_file, joined_kubeconfig, release_image
from tests.e2e.fidelity import api_path
from tests.e2e.test_pulumi_local import PASSPHRASE, Workspace, _report
from tests.stagehelpers import PROJECT_ROOT
from wfdeploy.cluster import admin_client
from wfdeploy.cluster.api import ApiError
from wfdeploy.cluster.offline_pulumi import offline_env, workspace_copy

STAGES = ("alpha", "staging")
VERIFY_STAND_IN = Path(__file__).with_name("verify_stand_in.py")
#: A test value for the secret the stages' chat receiver needs (set with `pulumi config set --secret`).
CHAT_WEBHOOK = "https://chat.invalid/e2e-test-only"
PART_OF = "labelSelector=app.kubernetes.io%2Fpart-of%3Dworkflow-platform"


class Chain(Workspace):
    """The workspace copy with alpha and staging test stacks, and where each stage's cluster is."""

    def __init__(self, project: Path, env: dict[str, str], clusters: dict[str, Path],
                 starting: subprocess.Popen) -> None:
        super().__init__(project, env)
        self.clusters, self.starting = clusters, starting
        self.starting_log: str | None = None
        self.joined = False

    def wfdeploy(self, *args: str) -> subprocess.CompletedProcess:
        """The unmodified command line, in the workspace copy."""
        return self.run("-m", "wfdeploy", *args)

    def stood_in(self, *args: str) -> subprocess.CompletedProcess:
        """The command line with `wfdeploy verify` stood in for (kwok runs no pods)."""
        return self.run(str(VERIFY_STAND_IN), *args)

    def outputs(self, stage: str) -> dict[str, Any]:
        shown = self.driver("outputs", stage)
        assert shown.returncode == 0, _report(shown)
        return json.loads(shown.stdout.strip().splitlines()[-1])

    def records(self, stage: str) -> list[dict[str, Any]]:
        path = Path(self.env["WFDEPLOY_RECORDS_DIR"]) / f"{stage}.json"
        return json.loads(path.read_text())["entries"] if path.exists() else []

    def workflow_image(self, stage: str) -> str:
        """The image of the workflow service's Deployment, as the stage's API server has it."""
        api = admin_client(self.clusters[stage])
        deployment = api.get("/apis/apps/v1/namespaces/workflow/deployments/workflow-service")
        return deployment["spec"]["template"]["spec"]["containers"][0]["image"]

    def staging_cluster_started(self) -> bool:
        """Wait for `cluster up staging` (once); whether it succeeded."""
        if self.starting_log is None:
            self.starting_log, _ = self.starting.communicate(timeout=600)
        return self.starting.returncode == 0

    def with_staging_cluster(self) -> "Chain":
        """Wait for staging's cluster; from then on the kubeconfig reaches both stages."""
        if not self.joined:
            assert self.staging_cluster_started(), f"cluster up staging failed:\n{self.starting_log}"
            self.joined = True
            contexts = {_section(self.project, stage, "cluster")["context"]: self.clusters[stage] for stage in STAGES}
            joined_kubeconfig(Path(self.env["KUBECONFIG"]), contexts)
        return self


def _section(project: Path, stage: str, name: str) -> dict[str, Any]:
    """One section of a stage's (test) stack file, e.g. `cluster`."""
    values, _ = read_stack_file(stack_file_path(project / "stacks", stage))
    return json.loads(values[f"workflow-platform:{name}"])


@pytest.fixture(scope="module")
def chain(cluster, tmp_path_factory):
    root = tmp_path_factory.mktemp("promotion-chain")
    staging_env = {**cluster["env"], "WFDEPLOY_BUILD_DIR": str(root / "staging-cluster")}
    # staging's cluster starts while alpha is deployed on the session's
    starting = subprocess.Popen([sys.executable, "-m", "wfdeploy", "cluster", "up", "staging"], cwd=PROJECT_ROOT,
                                env=staging_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    chain = None
    try:
        project = workspace_copy(root)
        for stage in STAGES:
            derive_stack_file(project / "stacks" / f"Pulumi.{stage}.yaml")
        env = offline_env(root / "state", str(root / "kubeconfig"), PASSPHRASE, base=cluster["env"])
        env.update({"WFDEPLOY_BUILD_DIR": str(project / "build"), "WFDEPLOY_RECORDS_DIR": str(root / "records")})
        clusters = {"alpha": cluster["directory"], "staging": root / "staging-cluster" / "cluster"}
        joined_kubeconfig(root / "kubeconfig", {_section(project, "alpha", "cluster")["context"]: clusters["alpha"]})
        chain = Chain(project, env, clusters, starting)
        for stage in STAGES:
            initialised = chain.driver("init", stage)
            assert initialised.returncode == 0, _report(initialised)
            command = ["pulumi", "config", "set", "--secret", "--stack", stage,
                       "workflow-platform:chatWebhookUrl", CHAT_WEBHOOK]
            secret = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, check=False)
            assert secret.returncode == 0, _report(secret)
        yield chain
    finally:
        if chain is None:
            starting.communicate(timeout=600)
        else:  # what a failed test left behind (nothing, once the destroy test ran)
            chain.driver("destroy", "alpha")
            if chain.staging_cluster_started():
                chain.with_staging_cluster().driver("destroy", "staging")
        stopped = subprocess.run([sys.executable, "-m", "wfdeploy", "cluster", "down"], cwd=PROJECT_ROOT,
                                 env=staging_env, capture_output=True, text=True, check=False)
        assert stopped.returncode == 0, _report(stopped)


@pytest.fixture(scope="module")
def alpha_unverified(chain):
    """alpha deployed by `pulumi up` alone: it runs a release nobody verified."""
    deployed = chain.driver("up", "alpha")
    assert deployed.returncode == 0, _report(deployed)
    return chain.outputs("alpha")["release"]


def test_promote_refuses_a_source_that_was_never_deployed(chain):
    refused = chain.wfdeploy("promote", "alpha", "staging")
    assert refused.returncode == 2, _report(refused)
    assert "promote alpha -> staging refused: stage 'alpha' has no deployed release" in refused.stderr
    assert chain.records("staging") == []


def test_promote_refuses_while_the_source_runs_an_unverified_release(chain, alpha_unverified):
    refused = chain.wfdeploy("promote", "alpha", "staging")
    assert refused.returncode == 2, _report(refused)
    assert f"stage 'alpha' runs release {alpha_unverified['id']}, which is not verified" in refused.stderr
    assert chain.records("staging") == []
    assert chain.outputs("staging") == {}


@pytest.fixture(scope="module")
def alpha_verified(chain, alpha_unverified):
    """`wfdeploy promote checkout alpha`: the same release, now through preview, up and the verify stand-in."""
    promoted = chain.stood_in("promote", "checkout", "alpha")
    assert promoted.returncode == 0, _report(promoted)
    return chain.outputs("alpha")


@pytest.fixture(scope="module")
def staging_promoted(chain, alpha_verified):
    promoted = chain.with_staging_cluster().stood_in("promote", "alpha", "staging")
    return promoted, chain.outputs("staging")


def test_promote_is_accepted_once_the_source_is_verified(chain, alpha_verified, staging_promoted):
    promoted, outputs = staging_promoted
    release = alpha_verified["verifiedRelease"]
    assert promoted.returncode == 0, _report(promoted)
    assert f"release {release['id']} is deployed and verified in staging" in promoted.stdout
    assert [entry["event"] for entry in chain.records("staging")] == ["deployed", "verified"]
    assert outputs["release"] == release and outputs["verifiedRelease"] == release
    assert chain.workflow_image("staging") == _section(chain.project, "alpha", "images")["workflowService"]


def test_staging_reads_alpha_verified_release_by_stack_reference(alpha_verified, staging_promoted):
    _, outputs = staging_promoted
    assert outputs["candidateRelease"] == alpha_verified["verifiedRelease"]
    assert outputs["runsCandidate"] is True


def test_production_is_refused_without_its_confirmation(chain, staging_promoted):
    refused = chain.wfdeploy("promote", "staging", "production")
    assert refused.returncode == 2, _report(refused)
    assert "stage 'production' changes only with explicit confirmation: add --yes-i-mean-production" in refused.stderr
    assert chain.records("production") == []


def test_rollback_brings_the_previous_release_back_into_the_api_server(chain, staging_promoted):
    first_image = chain.workflow_image("staging")
    first_release = staging_promoted[1]["release"]
    second_image = release_image(first_image, "release B")
    for args in (("promote", "checkout", "alpha", "--image", second_image), ("promote", "alpha", "staging")):
        promoted = chain.stood_in(*args)
        assert promoted.returncode == 0, _report(promoted)
    assert chain.workflow_image("staging") == second_image
    assert chain.outputs("staging")["release"]["id"] != first_release["id"]

    rolled_back = chain.stood_in("rollback", "staging")
    assert rolled_back.returncode == 0, _report(rolled_back)
    assert chain.workflow_image("staging") == first_image
    assert chain.outputs("staging")["release"] == first_release
    assert [entry["event"] for entry in chain.records("staging")][-2:] == ["rolled-back", "verified"]
    again = chain.driver("preview", "staging", "--expect-no-changes")
    assert again.returncode == 0, _report(again)


def _applied_objects(chain: Chain, stage: str) -> list[dict[str, Any]]:
    """Every Kubernetes object in the stack's state (kind, apiVersion, name, namespace): `pulumi stack export`."""
    exported = subprocess.run(["pulumi", "stack", "export", "--stack", stage], cwd=chain.project, env=chain.env,
                              capture_output=True, text=True, check=False)
    assert exported.returncode == 0, _report(exported)
    objects = []
    for resource in json.loads(exported.stdout)["deployment"]["resources"]:
        outputs = resource.get("outputs") or {}
        if resource["type"].startswith("kubernetes:") and "kind" in outputs and "metadata" in outputs:
            metadata = {key: outputs["metadata"][key] for key in ("name", "namespace") if key in outputs["metadata"]}
            objects.append({"apiVersion": outputs["apiVersion"], "kind": outputs["kind"], "metadata": metadata})
    return objects


def test_destroy_leaves_no_object_of_the_platform_behind(chain, staging_promoted):
    applied = {stage: _applied_objects(chain.with_staging_cluster(), stage) for stage in STAGES}
    counts = {stage: len(objects) for stage, objects in applied.items()}
    assert all(count > 100 for count in counts.values()), counts
    # both at once: separate clusters, separate stacks (the file:// backend locks each stack on its own)
    destroying = {stage: subprocess.Popen([sys.executable, "-m", "wfdeploy.cluster.stack_driver", "destroy", stage],
                                          cwd=chain.with_staging_cluster().project, env=chain.env, text=True,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) for stage in STAGES}
    left = []
    for stage, process in destroying.items():
        out, err = process.communicate(timeout=900)
        assert process.returncode == 0, f"destroy {stage}: exit {process.returncode}\n{out[-3000:]}\n{err[-3000:]}"
        api = admin_client(chain.clusters[stage])
        for path in ("/api/v1/namespaces", "/apis/rbac.authorization.k8s.io/v1/clusterroles",
                     "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"):
            kind = path.rsplit("/", 1)[-1]
            left += [f"{stage}: {kind}/{item['metadata']['name']}" for item in api.get(f"{path}?{PART_OF}")["items"]]
        plurals: dict = {}
        for wanted in applied[stage]:
            try:
                api.get(api_path(api, wanted, plurals))
            except ApiError as error:
                if error.status == 404:
                    continue
                raise
            where = wanted["metadata"]
            left.append(f"{stage}: {wanted['kind']}/{where.get('namespace', '')}/{where['name']}")
    assert left == []
