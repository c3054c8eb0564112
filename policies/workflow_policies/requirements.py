"""What a stage requires of its resources, derived from that stage's own configuration.

The pack never hard-codes a stage: `pulumi preview --policy-pack policies`
names the stack in every URN, and the stack file says what the stage demands.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
if str(PROJECT_ROOT) not in sys.path:  # the Pulumi CLI runs the pack from policies/
    sys.path.insert(0, str(PROJECT_ROOT))

from components.config import StageConfig, parse_stage, read_stack_file, stack_file_path  # noqa: E402
from components.workflow.facts import APP_NAME as WORKFLOW_APP  # noqa: E402


@dataclass(frozen=True)
class StageRequirements:
    stage: str
    require_digest: bool
    load_balancer_services: frozenset[str]
    node_port_services: frozenset[str]
    require_workflow_availability: bool
    workflow_namespace: str
    workflow_app: str = WORKFLOW_APP

    @classmethod
    def from_config(cls, config: StageConfig) -> "StageRequirements":
        return cls(
            stage=config.stage,
            require_digest=config.images.require_digests or not config.images.allow_tags,
            load_balancer_services=frozenset(config.network.load_balancer_services),
            node_port_services=frozenset(config.network.node_port_services),
            require_workflow_availability=config.availability.highly_available,
            workflow_namespace=config.namespaces.workflow,
        )


def stage_of_urn(urn: str) -> str:
    """'urn:pulumi:<stack>::<project>::<type>::<name>' -> '<stack>'."""
    return urn.split("::", 1)[0].removeprefix("urn:pulumi:")


@lru_cache(maxsize=None)
def requirements_of_stage(stage: str) -> StageRequirements:
    """Requirements read from stacks/Pulumi.<stage>.yaml (secret values are not needed)."""
    values, secret_keys = read_stack_file(stack_file_path(PROJECT_ROOT / "stacks", stage))
    loaded = parse_stage(stage, values, secret_keys, source=f"policy pack:{stage}", offline=True)
    return StageRequirements.from_config(loaded.config)


def requirements_of_urn(urn: str) -> StageRequirements:
    return requirements_of_stage(stage_of_urn(urn))
