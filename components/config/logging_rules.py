"""Cross-field rules of the `logging` section (listed in `rules.STAGE_RULES`)."""

from __future__ import annotations

from .errors import Problem
from .project import PROJECT
from .schema import StageConfig
from .types import parse_image


def shipper_namespace_problems(config: StageConfig) -> list[Problem]:
    """The shipper's namespace is relaxed to `privileged`; it must never be one the platform keeps restricted."""
    logging = getattr(config, "logging", None)
    if logging is None:
        return []
    namespaces = config.namespaces.model_dump()
    taken = sorted(key for key, value in namespaces.items() if value == logging.shipper.namespace)
    if not taken:
        return []
    return [
        Problem(
            f"{PROJECT}:logging.shipper.namespace",
            f"{logging.shipper.namespace!r} is also namespaces.{taken[0]}, which must stay Pod Security `restricted`",
        )
    ]


def snapshot_bucket_problems(config: StageConfig) -> list[Problem]:
    """A stage in AWS snapshots into its own bucket, never into the Object-Locked database backup bucket."""
    logging = getattr(config, "logging", None)
    if logging is None or not logging.snapshots.enabled or config.aws is None:
        return []
    bucket = logging.snapshots.bucket
    key = f"{PROJECT}:logging.snapshots.bucket"
    if bucket is None:
        return [Problem(key, "required key is missing: a stage in AWS snapshots into a dedicated bucket (name, …)")]
    backup_bucket = getattr(config.backup, "bucket", None)
    if backup_bucket is not None and backup_bucket.name == bucket.name:
        return [Problem(f"{key}.name", f"{bucket.name!r} is the database backup bucket: its Object Lock default "
                                        "retention keeps every snapshot file past SLM retention; use a separate bucket")]
    return []


def image_version_problems(config: StageConfig) -> list[Problem]:
    """ECK configures each resource for `logging.version`; an image of another version would be misconfigured."""
    logging = getattr(config, "logging", None)
    if logging is None:
        return []
    problems = []
    for key in ("elasticsearch", "kibana", "filebeat"):
        _, tag, _ = parse_image(getattr(config.images, key))
        if tag is not None and tag != logging.version:
            problems.append(Problem(f"{PROJECT}:images.{key}",
                                    f"tag {tag!r} differs from logging.version {logging.version!r}: ECK runs that version"))
    return problems
