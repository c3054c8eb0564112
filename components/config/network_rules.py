"""Cross-field rules of the `network` section (registered on import by components.config)."""

from __future__ import annotations

from .errors import Problem
from .loader import PROJECT, register_rule
from .schema import StageConfig


@register_rule
def _object_store_reachable(config: StageConfig) -> list[Problem]:
    """Backups to S3 need the S3 addresses their NetworkPolicy allows."""
    if config.backup.store == "aws-s3" and not config.network.object_store_cidrs:
        return [Problem(f"{PROJECT}:network.objectStoreCidrs", "backup.store is 'aws-s3': list the S3 endpoint CIDRs")]
    return []
