"""The local tier: how `wfdeploy up STAGE` runs a stage's own workloads under podman on one machine.

Maps the stage's image references (keys of `images`, e.g. `workflowService`)
to images the repository builds from Debian packages (local/images.yaml), and
names the images whose workloads are replaced by a process on 127.0.0.1
(operators' data services, servers without a Debian package). The rendered
manifests are never edited: the mapping is applied in memory when playing them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from .images import ImagesConfig
from .types import Section

#: Loopback stand-ins the local tier can start: PostgreSQL 15 (Debian) and moto's S3 server.
LoopbackService = Literal["postgresql", "s3"]


def _image_field_names() -> set[str]:
    return set(ImagesConfig.image_keys())


class LocalTierConfig(Section):
    """Image map and loopback stand-ins of the podman local tier."""

    images: dict[str, str] = Field(
        description="stage image key (images.<key>) -> image name in local/images.yaml built offline"
    )
    loopback: dict[str, LoopbackService] = Field(
        default_factory=dict,
        description="stage image key -> loopback process that stands in for the workloads running that image",
    )
    job_order: list[str] = Field(
        default_factory=list,
        description="CronJobs run first, in this order (e.g. the backup before the restore drill); the rest follow",
    )

    @field_validator("images", "loopback")
    @classmethod
    def _keys_are_stage_images(cls, value: dict) -> dict:
        unknown = sorted(set(value) - _image_field_names())
        if unknown:
            raise ValueError(f"unknown image key(s) {unknown}; expected keys of images: {sorted(_image_field_names())}")
        return value
