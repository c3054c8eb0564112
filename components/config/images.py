"""The `images` section: every image the platform's own workloads run, and how strictly they are pinned."""

from __future__ import annotations

from pydantic import Field, model_validator

from .types import ImageRef, Section

#: Fields of `images` that are settings about the images, not images.
IMAGE_SETTINGS = ("require_digests", "allow_tags", "placeholder_digests")


class ImagesConfig(Section):
    """Every image this platform's own workloads run.

    `allowTags` lets a stage run tag-only references (e.g. a laptop cluster);
    a stage with `allowTags: false` must pin each image by digest. `requireDigests`
    (default true) refuses `allowTags` altogether: a stage opts out of it explicitly.
    """

    # secure by default: a stage that forgets the key can never be switched to tag-only images
    require_digests: bool = Field(
        default=True, description="every image pinned by digest, whatever allowTags says; false to let allowTags decide"
    )
    allow_tags: bool = False
    workflow_service: ImageRef
    backup_job: ImageRef = Field(description="backup/restore-drill job image built from this repository")
    backup_object_store: ImageRef | None = Field(
        default=None, description="S3-compatible server image, for stages whose backup store is 'in-cluster'"
    )
    postgres: ImageRef = Field(description="PostgreSQL operand image for CloudNativePG (imageName)")
    redis: ImageRef
    redis_exporter: ImageRef
    # ECK would otherwise derive these from logging.version, a tag: pinned here so the digest rule covers them
    elasticsearch: ImageRef = Field(description="Elasticsearch image (ECK spec.image); its tag must be logging.version")
    kibana: ImageRef = Field(description="Kibana image (ECK spec.image); its tag must be logging.version")
    filebeat: ImageRef = Field(description="Filebeat image (ECK Beat spec.image); its tag must be logging.version")
    placeholder_digests: tuple[str, ...] = Field(
        default=(),
        description="image keys whose digest is made up, not resolved against the registry: refused where the "
        "stage is deployed (components/config/image_digests.py)",
    )

    @classmethod
    def image_keys(cls) -> dict[str, str]:
        """Stack-file key (camelCase) -> field name, for every image (not the settings about them)."""
        return {info.alias or name: name for name, info in cls.model_fields.items()
                if name not in IMAGE_SETTINGS}

    @model_validator(mode="after")
    def _placeholders_name_set_images(self) -> "ImagesConfig":
        keys = self.image_keys()
        for key in self.placeholder_digests:
            if key not in keys:
                raise ValueError(f"placeholderDigests: {key!r} is not an image key; expected one of {', '.join(sorted(keys))}")
            if getattr(self, keys[key]) is None:
                raise ValueError(f"placeholderDigests: {key!r} names an image this stage does not set")
        if len(set(self.placeholder_digests)) != len(self.placeholder_digests):
            raise ValueError("placeholderDigests: each image key at most once")
        return self

