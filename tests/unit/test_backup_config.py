"""Backup configuration: bad input is rejected by `validate` with the key named."""

from __future__ import annotations

import pytest

from components.config import ConfigError
from components.config.types import cron_max_interval_seconds
from tests.stagehelpers import STAGES, load_stage_with, section


def _problems(stage: str, overrides: dict, drop: tuple[str, ...] = ()) -> str:
    with pytest.raises(ConfigError) as error:
        load_stage_with(stage, overrides, drop=drop)
    return str(error.value)


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_file_has_a_valid_backup_section(stage):
    backup = load_stage_with(stage).config.backup
    assert backup.retention_days * 86400 >= cron_max_interval_seconds(backup.schedule)
    assert backup.object_lock_days <= backup.retention_days


def test_invalid_schedule_is_rejected_naming_the_key():
    backup = section("alpha", "backup") | {"schedule": "0 25 * * *"}
    message = _problems("alpha", {"workflow-platform:backup": backup})
    assert "workflow-platform:backup.schedule" in message and "hour '25' is outside 0-23" in message


def test_retention_shorter_than_the_schedule_interval_is_rejected():
    backup = section("alpha", "backup") | {"schedule": "0 3 * * 1", "retentionDays": 3, "objectLockDays": 1,
                                           "rpo": "8d"}
    message = _problems("alpha", {"workflow-platform:backup": backup})
    assert "workflow-platform:backup.retentionDays" in message
    assert "168h" in message


def test_object_lock_longer_than_retention_is_rejected():
    backup = section("production", "backup") | {"objectLockDays": 40}
    message = _problems("production", {"workflow-platform:backup": backup})
    assert "workflow-platform:backup.objectLockDays" in message


def test_rpo_shorter_than_the_schedule_interval_is_rejected():
    backup = section("staging", "backup") | {"rpo": "30m"}
    assert "workflow-platform:backup.rpo" in _problems("staging", {"workflow-platform:backup": backup})


def test_aws_store_without_a_bucket_is_rejected_naming_the_key():
    backup = section("production", "backup")
    del backup["bucket"]
    message = _problems("production", {"workflow-platform:backup": backup})
    assert "workflow-platform:backup.bucket: required key is missing" in message


def test_aws_store_without_an_aws_section_is_rejected():
    message = _problems("staging", {}, drop=("workflow-platform:aws",))
    assert "workflow-platform:aws: required key is missing" in message


def test_in_cluster_store_rejects_object_lock():
    backup = section("local", "backup") | {"objectLockDays": 1}
    assert "workflow-platform:backup.objectLockDays" in _problems("local", {"workflow-platform:backup": backup})


def test_bucket_name_must_be_a_valid_s3_name():
    backup = section("alpha", "backup")
    backup["bucket"]["name"] = "Not_A_Bucket"
    assert "workflow-platform:backup.bucket.name" in _problems("alpha", {"workflow-platform:backup": backup})


def test_oidc_provider_must_belong_to_the_account():
    aws = section("alpha", "aws") | {"accountId": "999999999999"}
    assert "workflow-platform:aws" in _problems("alpha", {"workflow-platform:aws": aws})


def test_production_requires_digest_pinned_backup_job_image():
    images = section("production", "images") | {"backupJob": "ghcr.io/example/workflow-backup-job:1.0.0"}
    assert "workflow-platform:images.backupJob" in _problems("production", {"workflow-platform:images": images})


@pytest.mark.parametrize(
    ("schedule", "hours"),
    [("0 */6 * * *", 6), ("*/30 * * * *", 0.5), ("30 7 * * *", 24), ("0 3 * * 1", 168), ("0 3 1 * *", 744),
     ("0 9-17 * * 1-5", 64)],
)
def test_cron_max_interval(schedule, hours):
    assert cron_max_interval_seconds(schedule) == hours * 3600
