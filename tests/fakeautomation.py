"""A recording fake of the `wfdeploy.promotion.automation.Automation` boundary, for promotion/rollback/preflight tests.

It keeps per-stage stack config and outputs the way the Pulumi backend would:
`up` exports the release of the configured image, and `verifiedRelease` only
while the verification marker names that release.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from components.config.secrets import OPERATOR_SECRETS
from components.release import release_of
from tests.stagehelpers import load_stage_with
from wfdeploy.promotion.automation import StepResult
from wfdeploy.promotion.deployer import IMAGE_KEY, VERIFIED_KEY


@dataclass
class FakeAutomation:
    pulumi: str | None = "3.200.0"
    contexts: list[str] = field(default_factory=list)
    server_versions: dict[str, str | None] = field(default_factory=dict)
    crds: set[str] = field(default_factory=set)
    deployments: set[str] = field(default_factory=set)
    aws_account: str | None = None
    configured: dict[str, set[str]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    preview_ok: dict[str, bool] = field(default_factory=dict)
    up_ok: dict[str, list[bool]] = field(default_factory=dict)
    verify_ok: dict[str, bool] = field(default_factory=dict)
    config: dict[str, dict[str, str]] = field(default_factory=dict)
    calls: list[tuple] = field(default_factory=list)

    # -- preflight questions --------------------------------------------------
    def pulumi_version(self) -> str | None:
        self.calls.append(("pulumi_version",))
        return self.pulumi

    def kube_contexts(self) -> list[str]:
        return list(self.contexts)

    def kube_server_version(self, context: str) -> str | None:
        return self.server_versions.get(context)

    def kube_crds(self, context: str) -> set[str]:
        return set(self.crds)

    def kube_deployment_available(self, context: str, namespace: str, name: str) -> bool:
        return f"{namespace}/{name}" in self.deployments

    def aws_account_id(self) -> str | None:
        return self.aws_account

    def configured_keys(self, stage: str) -> set[str]:
        return set(self.configured.get(stage, set()))

    # -- stack operations -----------------------------------------------------
    def stack_outputs(self, stage: str) -> dict[str, Any]:
        self.calls.append(("outputs", stage))
        return json.loads(json.dumps(self.outputs.get(stage, {})))

    def set_config(self, stage: str, key: str, value: str, *, path: bool = False) -> None:
        self.calls.append(("set_config", stage, key, value, path))
        config = self.config.setdefault(stage, {})
        for nested in [k for k in config if k.startswith(key + ".")]:
            del config[nested]  # setting an object replaces its nested keys, as in Pulumi
        config[key] = value

    def unset_config(self, stage: str, key: str, *, path: bool = False) -> None:
        self.calls.append(("unset_config", stage, key, path))
        self.config.get(stage, {}).pop(key, None)

    def preview(self, stage: str) -> StepResult:
        self.calls.append(("preview", stage))
        ok = self.preview_ok.get(stage, True)
        return StepResult(ok, "update: 1" if ok else "policy violation: no-latest-tag")

    def up(self, stage: str) -> StepResult:
        self.calls.append(("up", stage))
        results = self.up_ok.get(stage)
        ok = results.pop(0) if results else True
        if not ok:
            return StepResult(False, "update failed")
        image = self._image(stage)
        outputs = self.outputs.setdefault(stage, {})
        if image:
            outputs["release"] = release_of(image).to_dict()
        marker = self.config.get(stage, {}).get(VERIFIED_KEY)
        release = outputs.get("release")
        outputs["verifiedRelease"] = release if release and marker == release["id"] else None
        return StepResult(True, "update succeeded")

    def verify(self, stage: str) -> StepResult:
        self.calls.append(("verify", stage))
        ok = self.verify_ok.get(stage, True)
        return StepResult(ok, f"wfdeploy verify {stage} exited {0 if ok else 1}")

    def _image(self, stage: str) -> str | None:
        config = self.config.get(stage, {})
        if IMAGE_KEY in config:
            return config[IMAGE_KEY]
        if "workflow-platform:images" in config:
            return json.loads(config["workflow-platform:images"])["workflowService"]
        return None

    # -- helpers for tests ------------------------------------------------------
    def names(self, *kinds: str) -> list[tuple]:
        """The recorded calls of the given kinds, in order."""
        return [call for call in self.calls if call[0] in kinds]

    def deploy(self, stage: str, image: str, verified: bool) -> dict[str, Any]:
        """Pretend `stage` already runs `image` (verified or not); return its release."""
        release = release_of(image).to_dict()
        self.outputs[stage] = {"release": release, "verifiedRelease": release if verified else None}
        return release


def healthy(*stages: str) -> FakeAutomation:
    """A fake in which every given stage passes preflight (AWS credentials: the first stage's account)."""
    fake = FakeAutomation()
    for stage in stages:
        config = load_stage_with(stage).config
        fake.contexts.append(config.cluster.context)
        fake.server_versions[config.cluster.context] = config.cluster.kubernetes_version
        fake.crds |= set(config.promotion.required_crds)
        fake.deployments |= set(config.promotion.required_operators)
        account = getattr(getattr(config, "aws", None), "account_id", None)
        if account and fake.aws_account is None:
            fake.aws_account = account  # credentials of the first stage given
        fake.configured[stage] = {f"workflow-platform:{secret.key}" for secret in OPERATOR_SECRETS}
    return fake
