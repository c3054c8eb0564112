"""Preflight: is this machine, cluster and account the one the stage expects? Checked before any change.

Every check runs and every failure is listed at once, each with how to fix it;
checks that need the cluster are reported as not run when it is unreachable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from components.config import LoadedStage, StageSecrets
from components.config.promotion import version_tuple
from wfdeploy.promotion.automation import Automation


@dataclass(frozen=True)
class PreflightFailure:
    check: str
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"[{self.check}] {self.problem}\n      fix: {self.fix}"


Check = Callable[[LoadedStage, Automation], list[PreflightFailure]]


def _cluster_reachable(stage: LoadedStage, automation: Automation) -> bool:
    context = stage.config.cluster.context
    return context in automation.kube_contexts() and automation.kube_server_version(context) is not None


def pulumi_cli(stage: LoadedStage, automation: Automation) -> list[PreflightFailure]:
    wanted = stage.config.promotion.pulumi_version
    install = f"install a Pulumi CLI >= {wanted.minimum} and < {wanted.below} (https://www.pulumi.com/docs/install/versions/)"
    version = automation.pulumi_version()
    if version is None:
        return [PreflightFailure("pulumi-cli", "the Pulumi CLI is not installed (no `pulumi` on PATH)", install)]
    try:
        version_tuple(version)
    except ValueError:
        return [PreflightFailure("pulumi-cli", f"cannot read the Pulumi CLI version from {version!r}", install)]
    if not wanted.contains(version):
        return [
            PreflightFailure(
                "pulumi-cli",
                f"Pulumi CLI {version} is outside the supported range >= {wanted.minimum}, < {wanted.below}",
                install,
            )
        ]
    return []


def kube_context(stage: LoadedStage, automation: Automation) -> list[PreflightFailure]:
    context = stage.config.cluster.context
    if context not in automation.kube_contexts():
        return [
            PreflightFailure(
                "kube-context",
                f"kubeconfig has no context {context!r} (cluster.context of stage {stage.config.stage!r})",
                f"add it, e.g. `aws eks update-kubeconfig --name <cluster> --alias {context}` or "
                f"`kubectl config rename-context <current> {context}`",
            )
        ]
    if automation.kube_server_version(context) is None:
        return [
            PreflightFailure(
                "kube-context",
                f"the cluster of context {context!r} does not answer",
                f"check network/VPN and credentials: `kubectl --context {context} get --raw /readyz`",
            )
        ]
    return []


def kubernetes_version(stage: LoadedStage, automation: Automation) -> list[PreflightFailure]:
    context, wanted = stage.config.cluster.context, stage.config.cluster.kubernetes_version
    if not _cluster_reachable(stage, automation):
        return [PreflightFailure("kubernetes-version", "not checked: the cluster is unreachable", "fix kube-context first")]
    actual = automation.kube_server_version(context)
    if actual != wanted:
        return [
            PreflightFailure(
                "kubernetes-version",
                f"the cluster runs Kubernetes {actual}, stage {stage.config.stage!r} targets {wanted}",
                f"upgrade the cluster to {wanted}, or after re-validating the manifests set "
                f"cluster.kubernetesVersion: \"{actual}\" in stacks/Pulumi.{stage.config.stage}.yaml",
            )
        ]
    return []


def crds_and_operators(stage: LoadedStage, automation: Automation) -> list[PreflightFailure]:
    promotion, context = stage.config.promotion, stage.config.cluster.context
    if not (promotion.required_crds or promotion.required_operators):
        return []
    if not _cluster_reachable(stage, automation):
        return [PreflightFailure("crds-and-operators", "not checked: the cluster is unreachable", "fix kube-context first")]
    served = automation.kube_crds(context)
    failures = [
        PreflightFailure(
            "crds-and-operators",
            f"the cluster does not serve the CRD {crd}",
            "install it before the platform (runbooks/production-migration.md, step 1: operators and CRDs)",
        )
        for crd in promotion.required_crds
        if crd not in served
    ]
    for operator in promotion.required_operators:
        namespace, name = operator.split("/", 1)
        if not automation.kube_deployment_available(context, namespace, name):
            failures.append(
                PreflightFailure(
                    "crds-and-operators",
                    f"operator Deployment {operator} is missing or has no available replica",
                    f"install it, then `kubectl --context {context} -n {namespace} rollout status deployment/{name}`",
                )
            )
    return failures


def aws_account(stage: LoadedStage, automation: Automation) -> list[PreflightFailure]:
    expected = getattr(getattr(stage.config, "aws", None), "account_id", None)
    if expected is None:
        return []  # a stage without AWS (local) expects no account
    actual = automation.aws_account_id()
    if actual is None:
        return [
            PreflightFailure(
                "aws-account",
                f"no usable AWS credentials (stage expects account {expected})",
                f"log in to account {expected}, e.g. `aws sso login --profile <profile>` and export AWS_PROFILE",
            )
        ]
    if actual != expected:
        return [
            PreflightFailure(
                "aws-account",
                f"AWS credentials are for account {actual}, stage {stage.config.stage!r} expects {expected}",
                f"switch to a profile of account {expected} (AWS_PROFILE), or fix aws.accountId",
            )
        ]
    return []


def secrets(stage: LoadedStage, automation: Automation) -> list[PreflightFailure]:
    name = stage.config.stage
    configured = automation.configured_keys(name)
    present = StageSecrets(values={key.partition(":")[2]: "set" for key in configured if key.startswith("workflow-platform:")})
    return [
        PreflightFailure(
            "secrets",
            f"required secret workflow-platform:{secret.key} is not set ({secret.description})",
            f"`pulumi config set --secret --stack {name} {secret.key}` (value from the team's secret store)",
        )
        for secret in present.missing(stage.config)
    ]


#: The checks in the order they are reported.
CHECKS: list[tuple[str, Check]] = [
    ("pulumi-cli", pulumi_cli),
    ("kube-context", kube_context),
    ("kubernetes-version", kubernetes_version),
    ("crds-and-operators", crds_and_operators),
    ("aws-account", aws_account),
    ("secrets", secrets),
]


def run_preflight(stage: LoadedStage, automation: Automation) -> list[PreflightFailure]:
    """Every failure of every check, in check order; empty means ready."""
    failures: list[PreflightFailure] = []
    for name, function in CHECKS:
        try:
            failures += function(stage, automation)
        except Exception as error:  # a broken tool is a failed check, not a traceback
            failures.append(PreflightFailure(name, f"the check could not run: {error}", "fix the problem this names, then re-run"))
    return failures


def format_failures(stage: str, failures: list[PreflightFailure]) -> str:
    lines = [f"preflight for stage {stage!r} failed: {len(failures)} problem(s)"]
    lines += [f"  - {failure}" for failure in failures]
    return "\n".join(lines)
