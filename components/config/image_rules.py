"""Cross-field rules of the `images` section: how strictly a stage pins its images."""

from __future__ import annotations

from .errors import Problem
from .project import PROJECT
from .schema import StageConfig
from .types import is_digest_pinned


def _key(name: str) -> str:
    return f"{PROJECT}:images.{name}"


def image_pinning_problems(config: StageConfig) -> list[Problem]:
    """`requireDigests` refuses `allowTags`; without `allowTags` every image carries a digest."""
    images = config.images
    if images.require_digests and images.allow_tags:
        return [
            Problem(
                _key("allowTags"),
                f"stage {config.stage!r} must pin every image by digest (images.requireDigests is true; "
                "a stage that may run tag-only images sets requireDigests: false)",
            )
        ]
    if images.allow_tags:
        return []
    return [
        Problem(
            _key(field.alias),
            f"expected a digest-pinned reference 'name@sha256:<64 hex>' (images.allowTags is false), got {value!r}",
        )
        for name, field in type(images).model_fields.items()
        if isinstance(value := getattr(images, name), str) and not is_digest_pinned(value)
    ]
