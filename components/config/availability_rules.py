"""Cross-field rules for stages that must stay up through a node or zone loss (`availability.highlyAvailable`)."""

from __future__ import annotations

from .errors import Problem
from .project import PROJECT
from .schema import StageConfig

MIN_SERVICE_REPLICAS = 3
MIN_POSTGRES_INSTANCES = 3
MIN_PROXY_REPLICAS = 2


def highly_available_stage_problems(config: StageConfig) -> list[Problem]:
    """A highly available stage keeps quorum-sized replica counts for every tier."""
    if not config.availability.highly_available:
        return []
    # a stage that never stated the key learns where the strict default comes from
    unstated = "highly_available" not in config.availability.model_fields_set
    hint = " (availability.highlyAvailable defaults to true; a stage that need not survive a node loss sets false)"
    minimums = [
        ("service.replicas", config.service.replicas, MIN_SERVICE_REPLICAS),
        ("data.postgres.instances", config.data.postgres.instances, MIN_POSTGRES_INSTANCES),
        ("edge.proxyReplicas", config.edge.proxy_replicas, MIN_PROXY_REPLICAS),
    ]
    return [
        Problem(f"{PROJECT}:{key}", f"stage {config.stage!r} needs at least {minimum}, got {value}" + (hint if unstated else ""))
        for key, value, minimum in minimums
        if value < minimum
    ]
