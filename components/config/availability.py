"""Cross-field rules for stages that must stay up through a node or zone loss."""

from __future__ import annotations

from .errors import Problem
from .loader import PROJECT, register_rule
from .schema import StageConfig

#: Stages that serve users: every stateless and stateful tier replicated.
HIGHLY_AVAILABLE_STAGES = frozenset({"production"})
MIN_SERVICE_REPLICAS = 3
MIN_POSTGRES_INSTANCES = 3
MIN_PROXY_REPLICAS = 2


@register_rule
def highly_available_stage_problems(config: StageConfig) -> list[Problem]:
    """A highly available stage keeps quorum-sized replica counts for every tier."""
    if config.stage not in HIGHLY_AVAILABLE_STAGES:
        return []
    minimums = [
        ("service.replicas", config.service.replicas, MIN_SERVICE_REPLICAS),
        ("data.postgres.instances", config.data.postgres.instances, MIN_POSTGRES_INSTANCES),
        ("edge.proxyReplicas", config.edge.proxy_replicas, MIN_PROXY_REPLICAS),
    ]
    return [
        Problem(f"{PROJECT}:{key}", f"stage {config.stage!r} needs at least {minimum}, got {value}")
        for key, value, minimum in minimums
        if value < minimum
    ]
