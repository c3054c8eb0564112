"""Preflight: each environment check passes on a ready environment and fails with a fix otherwise."""

from __future__ import annotations

import pytest

from components.config.secrets import OPERATOR_SECRETS
from tests.fakeautomation import healthy
from tests.stagehelpers import load_stage_with, section
from wfdeploy.cli import main
from wfdeploy.promotion import automation as boundary
from wfdeploy.promotion.preflight import CHECKS, run_preflight


def failures_of(stage, fake, check=None):
    failures = run_preflight(stage, fake)
    return [f for f in failures if check is None or f.check == check]


@pytest.fixture
def staging():
    return load_stage_with("staging")


def test_a_ready_environment_passes_every_check(staging):
    assert run_preflight(staging, healthy("staging")) == []


def test_checks_cover_cli_context_version_crds_account_and_secrets():
    assert [name for name, _ in CHECKS] == [
        "pulumi-cli", "kube-context", "kubernetes-version", "crds-and-operators", "aws-account", "secrets",
    ]


@pytest.mark.parametrize(
    "version, problem",
    [(None, "not installed"), ("3.100.0", "outside the supported range"), ("4.1.0", "outside the supported range"), ("garbage", "cannot read")],
)
def test_pulumi_cli_must_be_installed_and_in_range(staging, version, problem):
    fake = healthy("staging")
    fake.pulumi = version
    [failure] = failures_of(staging, fake, "pulumi-cli")
    assert problem in failure.problem and ">= 3.190.0" in failure.fix and "< 4.0.0" in failure.fix


def test_pulumi_cli_at_the_range_minimum_passes(staging):
    fake = healthy("staging")
    fake.pulumi = "3.190.0"
    assert failures_of(staging, fake, "pulumi-cli") == []


def test_kube_context_must_be_the_one_the_stage_names(staging):
    fake = healthy("staging")
    fake.contexts = ["workflow-alpha"]
    [failure] = failures_of(staging, fake, "kube-context")
    assert "no context 'workflow-staging'" in failure.problem and "update-kubeconfig" in failure.fix


def test_kube_context_must_be_reachable_and_cluster_checks_are_reported_not_run(staging):
    fake = healthy("staging")
    fake.server_versions["workflow-staging"] = None
    failures = failures_of(staging, fake)
    by_check = {f.check: f for f in failures}
    assert "does not answer" in by_check["kube-context"].problem
    assert "not checked" in by_check["kubernetes-version"].problem
    assert "not checked" in by_check["crds-and-operators"].problem


def test_server_version_must_equal_the_targeted_kubernetes_version(staging):
    fake = healthy("staging")
    fake.server_versions["workflow-staging"] = "1.33"
    [failure] = failures_of(staging, fake, "kubernetes-version")
    assert "runs Kubernetes 1.33" in failure.problem and "targets 1.34" in failure.problem
    assert "cluster.kubernetesVersion" in failure.fix


def test_every_missing_crd_is_listed():
    crds = ["volumesnapshots.snapshot.storage.k8s.io", "volumesnapshotclasses.snapshot.storage.k8s.io"]
    stage = load_stage_with("staging", {"workflow-platform:promotion": section("staging", "promotion") | {"requiredCrds": crds}})
    fake = healthy("staging")
    failures = failures_of(stage, fake, "crds-and-operators")
    assert sorted(f.problem.rsplit(" ", 1)[-1] for f in failures) == sorted(crds)
    assert all("production-migration" in f.fix for f in failures)
    fake.crds = {crds[0]}
    assert [f.problem.rsplit(" ", 1)[-1] for f in failures_of(stage, fake, "crds-and-operators")] == [crds[1]]
    fake.crds = set(crds)
    assert failures_of(stage, fake, "crds-and-operators") == []


def test_required_operators_must_be_available(staging):
    fake = healthy("staging")
    fake.deployments.discard("kube-system/metrics-server")
    [failure] = failures_of(staging, fake, "crds-and-operators")
    assert "kube-system/metrics-server" in failure.problem and "rollout status deployment/metrics-server" in failure.fix
    fake.deployments.add("kube-system/metrics-server")
    assert failures_of(staging, fake, "crds-and-operators") == []


@pytest.mark.parametrize("account, problem", [(None, "no usable AWS credentials"), ("999999999999", "account 999999999999")])
def test_aws_account_must_be_the_one_the_stage_expects(staging, account, problem):
    fake = healthy("staging")
    fake.aws_account = account
    [failure] = failures_of(staging, fake, "aws-account")
    assert problem in failure.problem and "222222222222" in failure.fix


def test_a_stage_without_aws_expects_no_account():
    fake = healthy("local")
    fake.aws_account = None
    assert failures_of(load_stage_with("local"), fake, "aws-account") == []


def test_every_required_secret_must_be_set(staging):
    fake = healthy("staging")
    fake.configured["staging"] = set()
    failures = failures_of(staging, fake, "secrets")
    assert failures and all("pulumi config set --secret --stack staging" in f.fix for f in failures)
    required = [secret.key for secret in OPERATOR_SECRETS if secret.required_when(staging.config)]
    assert sorted(f.problem.split("workflow-platform:")[1].split()[0] for f in failures) == sorted(required)


def test_every_failure_is_listed_at_once(staging):
    fake = healthy("staging")
    fake.pulumi, fake.contexts, fake.aws_account, fake.configured = None, [], "999999999999", {}
    checks = {f.check for f in run_preflight(staging, fake)}
    assert checks == {name for name, _ in CHECKS}


def test_a_check_whose_tool_breaks_is_a_failure_not_a_traceback(staging):
    fake = healthy("staging")

    def broken():
        raise OSError("kubectl: permission denied")

    fake.aws_account_id = broken
    [failure] = failures_of(staging, fake, "aws-account")
    assert "could not run" in failure.problem and "permission denied" in failure.problem


def test_preflight_command_exit_codes(monkeypatch, capsys):
    fake = healthy("staging")
    monkeypatch.setattr(boundary, "default_automation", lambda: fake)
    assert main(["preflight", "staging"]) == 0
    assert "ok" in capsys.readouterr().out
    fake.pulumi = None
    fake.server_versions["workflow-staging"] = "1.33"
    assert main(["preflight", "staging"]) == 3
    err = capsys.readouterr().err
    assert "2 problem(s)" in err and "[pulumi-cli]" in err and "[kubernetes-version]" in err and "fix:" in err
    assert main(["preflight", "nosuchstage"]) == 2


def test_live_boundary_reads_the_answers_of_pulumi_kubectl_and_aws(tmp_path, monkeypatch):
    """The real boundary's parsing, with stand-in executables on PATH (no cluster here)."""
    from wfdeploy.promotion.automation import LiveAutomation

    stubs = {
        "pulumi": 'echo "v3.201.0"',
        "kubectl": """case "$*" in
  "config get-contexts -o name") printf 'workflow-staging\\nkind-x\\n' ;;
  *" version -o json"*) echo '{"serverVersion": {"major": "1", "minor": "34+"}}' ;;
  *" get crd -o name") echo customresourcedefinition.apiextensions.k8s.io/gateways.gateway.networking.k8s.io ;;
  *"get deployment metrics-server -o json") echo '{"status": {"availableReplicas": 2}}' ;;
  *) exit 1 ;;
esac""",
        "aws": "echo 222222222222",
    }
    for name, body in stubs.items():
        (tmp_path / name).write_text(f"#!/bin/sh\n{body}\n")
        (tmp_path / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    live = LiveAutomation()
    assert live.pulumi_version() == "3.201.0"
    assert live.kube_contexts() == ["workflow-staging", "kind-x"]
    assert live.kube_server_version("workflow-staging") == "1.34"
    assert live.kube_crds("workflow-staging") == {"gateways.gateway.networking.k8s.io"}
    assert live.kube_deployment_available("workflow-staging", "kube-system", "metrics-server")
    assert not live.kube_deployment_available("workflow-staging", "kube-system", "ebs-csi-controller")
    assert live.aws_account_id() == "222222222222"


def test_live_boundary_reports_missing_tools_as_absent(tmp_path, monkeypatch):
    from wfdeploy.promotion.automation import LiveAutomation

    monkeypatch.setenv("PATH", str(tmp_path))
    live = LiveAutomation()
    assert live.pulumi_version() is None and live.kube_contexts() == [] and live.aws_account_id() is None
    assert live.kube_server_version("workflow-staging") is None
