"""Promotion for real: `wfdeploy promote` and `rollback` through the Automation API, alpha -> staging -> production.

alpha runs on the session's cluster, staging and production each on a `cluster up` of its own:
the stages declare the same namespaces and cluster-scoped objects, so like on real clusters each
needs its own (production's nodes span its three zones, as its spread constraints expect). The
test stacks come from the real stack files by settings only (tests/e2e/chain.py). `wfdeploy
verify` needs running pods, which kwok does not have: where a promotion verifies,
tests/e2e/verify_stand_in.py stands in for it (the API server's view of the rollout); the refusals
run the unmodified `wfdeploy` command line. Each deployed stage's objects are compared with its
rendered manifests (tests/e2e/fidelity.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config import OPERATOR_SECRETS, parse_stage, read_stack_file, stack_file_path
from tests.e2e.chain import derive_stack_file, joined_kubeconfig, release_image
from tests.e2e.fidelity import api_path, cluster_differences
from tests.e2e.policy_breaker import tag_only as tag_only_image
from tests.e2e.test_pulumi_local import PASSPHRASE, Workspace, _last_json, _report
from tests.stagehelpers import PROJECT_ROOT
from wfdeploy.cluster import admin_client
from wfdeploy.cluster.api import ApiError
from wfdeploy.cluster.offline_pulumi import offline_env, workspace_copy

STAGES = ("alpha", "staging", "production")
#: The stages on a `cluster up` of their own (alpha runs on the session's cluster).
OWN_CLUSTER = ("staging", "production")
VERIFY_STAND_IN = Path(__file__).with_name("verify_stand_in.py")
POLICY_BREAKER = Path(__file__).with_name("policy_breaker.py")
#: Test values of the operator secrets a stage's receivers need (set with `pulumi config set --secret`).
TEST_SECRETS = {
    "chatWebhookUrl": "https://chat.invalid/e2e-test-only",
    "pagerRoutingKey": "e2e-test-only-not-a-routing-key",  # pragma: allowlist secret (a dummy for test stacks)
}
STACK_REFERENCE = "pulumi:pulumi:StackReference"
PART_OF = "labelSelector=app.kubernetes.io%2Fpart-of%3Dworkflow-platform"
#: The object the fidelity test changes in the cluster to see the comparison name it (build/<stage>/manifests/…).
PLANTED_MANIFEST = "workflow/ConfigMap.workflow-service-settings.yaml"


class Chain(Workspace):
    """The workspace copy with the chain's test stacks, and where each stage's cluster is."""

    def __init__(self, project: Path, env: dict[str, str], clusters: dict[str, Path]) -> None:
        super().__init__(project, env)
        self.clusters = clusters
        #: Stages whose `destroy` succeeded: the fixture's clean-up leaves them alone.
        self.destroyed: set[str] = set()
        self.starting: dict[str, subprocess.Popen] = {}
        self.starting_log: dict[str, str] = {}
        self.joined: set[str] = {"alpha"}

    def cluster_env(self, stage: str) -> dict[str, str]:
        """The environment of `cluster up|down STAGE`: its own build folder, so its own cluster folder."""
        return {**self.env, "WFDEPLOY_BUILD_DIR": str(self.clusters[stage].parent)}

    def start_cluster(self, stage: str) -> None:
        """`wfdeploy cluster up STAGE` in the background (its contexts and zones), once."""
        if stage not in self.starting:
            self.starting[stage] = subprocess.Popen(
                [sys.executable, "-m", "wfdeploy", "cluster", "up", stage], cwd=PROJECT_ROOT,
                env=self.cluster_env(stage), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def cluster_started(self, stage: str) -> bool:
        """Wait for `cluster up STAGE` (if it was started); whether it succeeded."""
        if stage not in self.starting:
            return False
        if stage not in self.starting_log:
            self.starting_log[stage], _ = self.starting[stage].communicate(timeout=600)
        return self.starting[stage].returncode == 0

    def with_cluster(self, *stages: str) -> "Chain":
        """Wait for the stages' clusters; from then on the kubeconfig reaches them too."""
        for stage in stages:
            if stage not in self.joined:
                self.start_cluster(stage)
                assert self.cluster_started(stage), f"cluster up {stage} failed:\n{self.starting_log[stage]}"
                self.joined.add(stage)
                contexts = {_section(self.project, joined, "cluster")["context"]: self.clusters[joined]
                            for joined in STAGES if joined in self.joined}
                joined_kubeconfig(Path(self.env["KUBECONFIG"]), contexts)
        return self

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


def _section(project: Path, stage: str, name: str) -> dict[str, Any]:
    """One section of a stage's (test) stack file, e.g. `cluster`."""
    values, _ = read_stack_file(stack_file_path(project / "stacks", stage))
    return json.loads(values[f"workflow-platform:{name}"])


def _required_secrets(project: Path, stage: str) -> list[str]:
    """The operator secrets the stage's (test) stack requires, as preflight asks for them."""
    values, secret_keys = read_stack_file(stack_file_path(project / "stacks", stage))
    config = parse_stage(stage, values, secret_keys, source=f"test stack {stage}", offline=True).config
    return [secret.key for secret in OPERATOR_SECRETS if secret.required_when(config)]


@pytest.fixture(scope="module")
def chain(cluster, tmp_path_factory):
    root = tmp_path_factory.mktemp("promotion-chain")
    clusters = {"alpha": cluster["directory"], **{stage: root / f"{stage}-cluster" / "cluster" for stage in OWN_CLUSTER}}
    project = workspace_copy(root)
    for stage in STAGES:
        derive_stack_file(project / "stacks" / f"Pulumi.{stage}.yaml")
    env = offline_env(root / "state", str(root / "kubeconfig"), PASSPHRASE, base=cluster["env"])
    env.update({"WFDEPLOY_BUILD_DIR": str(project / "build"), "WFDEPLOY_RECORDS_DIR": str(root / "records")})
    chain = Chain(project, env, clusters)
    # staging's cluster starts while alpha is deployed on the session's; production's once staging is promoted
    chain.start_cluster("staging")
    try:
        joined_kubeconfig(root / "kubeconfig", {_section(project, "alpha", "cluster")["context"]: clusters["alpha"]})
        for stage in STAGES:
            initialised = chain.driver("init", stage)
            assert initialised.returncode == 0, _report(initialised)
            for key in _required_secrets(project, stage):
                command = ["pulumi", "config", "set", "--secret", "--stack", stage, f"workflow-platform:{key}",
                           TEST_SECRETS[key]]
                secret = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, check=False)
                assert secret.returncode == 0, _report(secret)
        yield chain
    finally:
        # what a failed test left behind (nothing, once the destroy test ran)
        if "alpha" not in chain.destroyed:
            chain.driver("destroy", "alpha")
        stopped = []
        for stage in OWN_CLUSTER:
            if stage not in chain.destroyed and chain.cluster_started(stage):
                chain.with_cluster(stage).driver("destroy", stage)
            stopped.append(subprocess.run([sys.executable, "-m", "wfdeploy", "cluster", "down"], cwd=PROJECT_ROOT,
                                          env=chain.cluster_env(stage), capture_output=True, text=True, check=False))
        assert [down.returncode for down in stopped] == [0] * len(stopped), "\n".join(map(_report, stopped))


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
    promoted = chain.with_cluster("staging").stood_in("promote", "alpha", "staging")
    chain.start_cluster("production")  # ready by the time production is deployed, after the rollback
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


@pytest.fixture(scope="module")
def production_previewed(chain, staging_promoted):
    """`pulumi preview --policy-pack` of production, before anything of it exists."""
    return chain.with_cluster("production").driver("preview", "production", "--policy-pack")


def test_production_preview_with_the_policy_pack_passes_with_no_violation(production_previewed):
    assert production_previewed.returncode == 0, _report(production_previewed)
    assert "mandatory" not in production_previewed.stdout.lower()
    assert _last_json(production_previewed)["changeSummary"].get("create", 0) > 100


def test_a_tag_only_image_in_production_is_refused_by_the_policy_pack_naming_the_policy(chain, staging_promoted):
    broken = chain.with_cluster("production").run(str(POLICY_BREAKER), "production", "tag-only-image")
    output = broken.stdout + broken.stderr
    assert broken.returncode == 1, _report(broken)
    assert "pinned-images" in output, _report(broken)
    tag_only = tag_only_image(_section(chain.project, "production", "images")["workflowService"])
    assert f"image {tag_only!r} must be pinned by digest in this stage" in output, _report(broken)


@pytest.fixture(scope="module")
def production_promoted(chain, staging_promoted, production_previewed):
    """`wfdeploy promote staging production --yes-i-mean-production`, once staging runs a verified release."""
    staging = chain.outputs("staging")
    promoted = chain.with_cluster("production").stood_in("promote", "staging", "production", "--yes-i-mean-production")
    return promoted, staging, chain.outputs("production")


def test_production_is_promoted_from_verified_staging_with_its_confirmation(chain, production_promoted):
    promoted, staging, outputs = production_promoted
    release = staging["verifiedRelease"]
    assert promoted.returncode == 0, _report(promoted)
    assert f"release {release['id']} is deployed and verified in production" in promoted.stdout
    assert [entry["event"] for entry in chain.records("production")] == ["deployed", "verified"]
    assert outputs["release"] == release and outputs["verifiedRelease"] == release
    # read from staging by StackReference
    assert outputs["candidateRelease"] == release and outputs["runsCandidate"] is True
    # production's own repository (no tag: digests only), staging's digest
    production_image = _section(chain.project, "production", "images")["workflowService"]
    assert chain.workflow_image("production") == production_image
    assert production_image.endswith("@" + release["imageDigest"]), (production_image, release)


def test_production_up_created_every_resource_and_a_preview_right_after_expects_no_changes(
        chain, production_promoted, production_previewed):
    assert production_promoted[0].returncode == 0
    created = _last_json(production_previewed)["changeSummary"]["create"]
    # the change summary counts neither the engine's default providers nor the StackReference (a read)
    state = [resource["urn"] for resource in _state_resources(chain, "production")]
    left_out = [urn for urn in state if _is_default_provider(urn) or f"::{STACK_REFERENCE}::" in urn]
    assert len(state) - len(left_out) == created, left_out
    again = chain.driver("preview", "production", "--expect-no-changes")
    assert again.returncode == 0, _report(again)


@pytest.fixture(scope="module")
def rendered(chain, production_promoted):
    """Each chain stage rendered offline from its test stack file as deployed (image, markers and all)."""
    rendering = {stage: subprocess.Popen([sys.executable, "-m", "wfdeploy", "render", stage, "--skip-gates"],
                                         cwd=chain.project, env=chain.env, text=True, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE) for stage in STAGES}
    for stage, process in rendering.items():
        out, err = process.communicate(timeout=900)
        assert process.returncode == 0, f"render {stage}: exit {process.returncode}\n{out[-3000:]}\n{err[-3000:]}"
    return {stage: chain.project / "build" / stage / "manifests" for stage in STAGES}


@pytest.mark.parametrize("stage", STAGES)
def test_every_object_of_the_stage_in_its_cluster_matches_its_rendered_manifest(chain, rendered, stage):
    # the gates judge unsubstituted stages (the connectivity gate rightly notes that chart pods are
    # absent when charts are left out); here only the written objects matter
    assert len(list(rendered[stage].rglob("*.yaml"))) > 100
    assert cluster_differences(admin_client(chain.clusters[stage]), rendered[stage]) == []


def test_a_field_changed_in_the_cluster_is_a_difference_naming_the_object_and_field(chain, rendered):
    api = admin_client(chain.clusters["production"])
    manifest = yaml.safe_load((rendered["production"] / PLANTED_MANIFEST).read_text())
    name, namespace = manifest["metadata"]["name"], manifest["metadata"]["namespace"]
    key, value = sorted(manifest["data"].items())[0]
    path = f"/api/v1/namespaces/{namespace}/configmaps/{name}"
    planted = f"{value}\n# planted by the e2e fidelity test"
    merge = "application/merge-patch+json"
    api.request("PATCH", path, {"data": {key: planted}}, merge)
    try:
        problems = cluster_differences(api, rendered["production"])
    finally:
        api.request("PATCH", path, {"data": {key: value}}, merge)
    assert problems == [f"ConfigMap/{name}.data.{key}: rendered {value!r}, the cluster has {planted!r}"]
    assert cluster_differences(api, rendered["production"]) == []


def _is_default_provider(urn: str) -> bool:
    """'urn:pulumi:<stack>::<project>::pulumi:providers:<package>::default[_<version>]'."""
    _, _, kind, name = urn.rsplit("::", 3)
    return kind.startswith("pulumi:providers:") and (name == "default" or name.startswith("default_"))


def _state_resources(chain: Chain, stage: str) -> list[dict[str, Any]]:
    """Every resource in the stack's state: `pulumi stack export`."""
    exported = subprocess.run(["pulumi", "stack", "export", "--stack", stage], cwd=chain.project, env=chain.env,
                              capture_output=True, text=True, check=False)
    assert exported.returncode == 0, _report(exported)
    return json.loads(exported.stdout)["deployment"]["resources"]


def _applied_objects(chain: Chain, stage: str) -> list[dict[str, Any]]:
    """Every Kubernetes object in the stack's state (kind, apiVersion, name, namespace)."""
    objects = []
    for resource in _state_resources(chain, stage):
        outputs = resource.get("outputs") or {}
        if resource["type"].startswith("kubernetes:") and "kind" in outputs and "metadata" in outputs:
            metadata = {key: outputs["metadata"][key] for key in ("name", "namespace") if key in outputs["metadata"]}
            objects.append({"apiVersion": outputs["apiVersion"], "kind": outputs["kind"], "metadata": metadata})
    return objects


def test_destroy_leaves_no_object_of_the_platform_behind(chain, staging_promoted, production_promoted):
    applied = {stage: _applied_objects(chain.with_cluster(*OWN_CLUSTER), stage) for stage in STAGES}
    counts = {stage: len(objects) for stage, objects in applied.items()}
    assert all(count > 100 for count in counts.values()), counts
    # all at once: separate clusters, separate stacks (the file:// backend locks each stack on its own)
    destroying = {stage: subprocess.Popen([sys.executable, "-m", "wfdeploy.cluster.stack_driver", "destroy", stage],
                                          cwd=chain.project, env=chain.env, text=True,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) for stage in STAGES}
    left = []
    for stage, process in destroying.items():
        out, err = process.communicate(timeout=900)
        assert process.returncode == 0, f"destroy {stage}: exit {process.returncode}\n{out[-3000:]}\n{err[-3000:]}"
        chain.destroyed.add(stage)
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
