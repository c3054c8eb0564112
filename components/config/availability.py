"""The `availability` section: whether a stage must stay up through a node or zone loss."""

from __future__ import annotations

from pydantic import Field

from .types import Section


class AvailabilityConfig(Section):
    """How much failure a stage must survive; the replica minimums are in `availability_rules.py`."""

    # secure by default: a stage that forgets the key is held to quorum-sized replicas and the policy pack's
    # HPA/PDB check; only a stage that need not stay up through a node loss opts out
    highly_available: bool = Field(
        default=True,
        description="every tier replicated (service, PostgreSQL, edge proxies), the service with an HPA and a PDB; "
        "false for a stage a node loss may take down",
    )
