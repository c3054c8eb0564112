"""Placeholder image digests: allowed offline, refused wherever a stage is actually deployed.

A stack file lists under `images.placeholderDigests` the image keys whose
digest was made up because the registry could not be reached. Offline
synthesis renders them (every stage must render), but the program run by the
Pulumi engine and `wfdeploy validate --deployable` refuse them for a stage
that requires digests (`images.allowTags: false`): a made-up digest can never be pulled.
"""

from __future__ import annotations

from .errors import Problem
from .schema import StageConfig

#: How an operator resolves a digest and removes the key from the list.
RESOLVE_DOC = "docs/deployment-guide.md#resolving-placeholder-image-digests"


def placeholder_images(config: StageConfig) -> list[str]:
    """Image keys of the stage still carrying a placeholder digest."""
    return list(config.images.placeholder_digests)


def placeholder_problems(config: StageConfig) -> list[Problem]:
    """One problem per placeholder digest, for a stage that requires digests; none where tags are allowed."""
    if config.images.allow_tags:
        return []
    return [
        Problem(
            f"workflow-platform:images.{key}",
            f"placeholder digest (listed in images.placeholderDigests): resolve the real digest and remove {key!r} "
            f"from the list, see {RESOLVE_DOC}",
        )
        for key in placeholder_images(config)
    ]
