"""Cross-field rules of the `network` section (listed in `rules.STAGE_RULES`)."""

from __future__ import annotations

from .errors import Problem
from .project import PROJECT
from .schema import StageConfig


def object_store_problems(config: StageConfig) -> list[Problem]:
    """Backups to S3 need the S3 addresses their NetworkPolicy allows."""
    if config.backup.store == "aws-s3" and not config.network.object_store_cidrs:
        return [Problem(f"{PROJECT}:network.objectStoreCidrs", "backup.store is 'aws-s3': list the S3 endpoint CIDRs")]
    return []
