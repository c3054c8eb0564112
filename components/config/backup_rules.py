"""Cross-field rules of the backup section: retention vs schedule and Object Lock, the store's prerequisites."""

from __future__ import annotations

from .errors import Problem
from .project import PROJECT
from .schema import StageConfig
from .types import cron_max_interval_seconds, duration_seconds

DAY_SECONDS = 86400


def _key(name: str) -> str:
    return f"{PROJECT}:backup.{name}"


def backup_problems(config: StageConfig) -> list[Problem]:
    """Cross-field rules: retention vs schedule and Object Lock, RPO vs schedule, the store's prerequisites."""
    backup = config.backup
    problems: list[Problem] = []
    interval = cron_max_interval_seconds(backup.schedule)
    if backup.retention_days * DAY_SECONDS < interval:
        problems.append(
            Problem(
                _key("retentionDays"),
                f"retention of {backup.retention_days}d is shorter than the schedule's longest interval "
                f"({interval // 3600}h for {backup.schedule!r}): a backup would be pruned before the next one exists",
            )
        )
    if duration_seconds(backup.rpo) < interval:
        problems.append(
            Problem(
                _key("rpo"),
                f"rpo {backup.rpo} is shorter than the schedule's longest interval "
                f"({interval // 60}m for {backup.schedule!r}): the objective can never be met",
            )
        )
    if backup.object_lock_days > backup.retention_days:
        problems.append(
            Problem(
                _key("objectLockDays"),
                f"Object Lock of {backup.object_lock_days}d outlasts retentionDays {backup.retention_days}: "
                "pruning would meet locked objects",
            )
        )
    if backup.store == "aws-s3":
        if backup.bucket is None:
            problems.append(Problem(_key("bucket"), "required key is missing: store 'aws-s3' needs a bucket (name, …)"))
        elif backup.bucket.transition_days is not None and backup.bucket.transition_days >= backup.retention_days:
            problems.append(
                Problem(
                    _key("bucket.transitionDays"),
                    f"transition after {backup.bucket.transition_days}d never happens: backups are pruned "
                    f"after retentionDays {backup.retention_days}",
                )
            )
        if config.aws is None:
            problems.append(Problem(f"{PROJECT}:aws", "required key is missing: backup store 'aws-s3' runs in AWS"))
    else:
        if backup.object_lock_days:
            problems.append(
                Problem(_key("objectLockDays"), "Object Lock needs store 'aws-s3'; set 0 for an in-cluster store")
            )
        if config.images.backup_object_store is None:
            problems.append(
                Problem(f"{PROJECT}:images.backupObjectStore", "required key is missing: store 'in-cluster' runs it")
            )
    return problems
