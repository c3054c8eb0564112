"""Policy-pack gate: the CrossGuard policies of `policies/` over the synthesized resources of a stage.

The Pulumi CLI hands the pack each resource as ResourceValidationArgs and the
whole stack as StackValidationArgs; this adapter builds the same arguments
from `Synthesis.resources`, so `render` runs the very functions
`pulumi preview --policy-pack policies` runs.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)
from pulumi.runtime.sync_await import _sync_await

from components.config import PROJECT
from wfdeploy.paths import PROJECT_ROOT
from wfdeploy.render.context import GateFailure, RenderContext
from wfdeploy.render.synth import COMPUTED_ATTRIBUTES, DeclaredResource, Synthesis, computed_placeholder

POLICIES_DIR = PROJECT_ROOT / "policies"


def pack_module(name: str = "rules"):
    """A module of the pack, imported the way the Pulumi CLI imports it (policies/ on sys.path)."""
    if str(POLICIES_DIR) not in sys.path:
        sys.path.insert(0, str(POLICIES_DIR))
    return importlib.import_module(f"workflow_policies.{name}")


@dataclass(frozen=True)
class Violation:
    policy: str
    subject: str
    message: str


def urn_of(stage: str, resource: DeclaredResource) -> str:
    qualified = f"{resource.parent_type}${resource.type}" if resource.parent_type else resource.type
    return f"urn:pulumi:{stage}::{PROJECT}::{qualified}::{resource.name}"


def _options() -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def _state(resource: DeclaredResource) -> dict[str, Any]:
    """The resource's outputs as a provider would report them; computed ones as the mock engine's placeholders."""
    state = dict(resource.inputs)
    if resource.custom:
        state.setdefault("id", f"{resource.name}-id")  # the id the mock engine hands out
    for prefix, attributes in COMPUTED_ATTRIBUTES.items():
        if resource.type.startswith(prefix):
            for attribute in attributes:
                state.setdefault(attribute, computed_placeholder(resource.type, resource.name, attribute))
    return state


def _validated(resource: DeclaredResource) -> bool:
    return resource.custom and not resource.type.startswith("pulumi:")


def _run(result) -> None:
    if inspect.isawaitable(result):
        _sync_await(result)


def validate_resources(stage: str, resources: list[DeclaredResource], policies: list) -> list[Violation]:
    """Run every policy of the pack over the resources; return each violation."""
    violations: list[Violation] = []
    checked = [resource for resource in resources if _validated(resource)]
    for policy in policies:
        if isinstance(policy, ResourceValidationPolicy):
            for resource in checked:
                args = ResourceValidationArgs(
                    resource.type, resource.inputs, urn_of(stage, resource), resource.name, _options(), None
                )
                subject = f"{resource.type} {resource.name}"
                _run(policy.validate(args, lambda message, urn=None, s=subject, p=policy.name: violations.append(Violation(p, s, message))))
        else:
            stack = StackValidationArgs(
                [
                    PolicyResource(resource.type, _state(resource), urn_of(stage, resource), resource.name, _options(), None, None, [], {})
                    for resource in checked
                ]
            )
            _run(
                policy.validate(
                    stack,
                    lambda message, urn=None, p=policy.name: violations.append(Violation(p, urn or f"stack {stage}", message)),
                )
            )
    return violations


def validate_synthesis(synthesis: Synthesis, requirements) -> list[Violation]:
    rules = pack_module("rules")
    return validate_resources(synthesis.stage, synthesis.resources, rules.build_policies(lambda urn: requirements))


def policy_pack(context: RenderContext) -> list[GateFailure]:
    requirements = pack_module("requirements").StageRequirements.from_config(context.stage.config)
    return [
        GateFailure(f"{violation.policy}: {violation.subject}", violation.message)
        for violation in validate_synthesis(context.synthesis, requirements)
    ]
