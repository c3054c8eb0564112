"""Elasticsearch snapshots go to a dedicated bucket built with the backup bucket's hardened model, minus Object Lock."""

from __future__ import annotations

import json

import pytest

from components.config import ConfigError
from tests.stagehelpers import PROMOTION_CHAIN, load_stage_with, section

P = "workflow-platform"
SNAPSHOT_KEY_ARN = "<computed:Key/logging-snapshots-key.arn>"
SNAPSHOT_BUCKET_ARN = "<computed:Bucket/logging-snapshots-bucket.arn>"


def _logging_cloud(synthesis, type_: str) -> list[dict]:
    return [r.inputs for r in synthesis.of_type(type_) if r.parent_type == "wf:logging:Logging"]


def _one(synthesis, type_: str) -> dict:
    found = _logging_cloud(synthesis, type_)
    assert len(found) == 1, f"expected one {type_} in the logging component, found {len(found)}"
    return found[0]


def _role_policy(synthesis) -> dict:
    (policy,) = [r for r in synthesis.of_type("aws:iam/rolePolicy:RolePolicy") if r.name == "logging-snapshot-role-policy"]
    return json.loads(policy.inputs["policy"])


@pytest.mark.parametrize("stage", PROMOTION_CHAIN)
def test_snapshot_bucket_is_hardened_like_the_backup_bucket_without_object_lock(synthesized, stage):
    config = load_stage_with(stage).config
    synthesis = synthesized(stage)
    bucket = _one(synthesis, "aws:s3/bucket:Bucket")
    assert bucket["bucket"] == config.logging.snapshots.bucket.name != config.backup.bucket.name
    # SLM retention must really free snapshot files: no lock on the bucket and no default retention
    assert bucket["objectLockEnabled"] is False
    assert _logging_cloud(synthesis, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration") == []
    assert _one(synthesis, "aws:s3/bucketVersioning:BucketVersioning")["versioningConfiguration"]["status"] == "Enabled"
    (rule,) = _one(synthesis, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": SNAPSHOT_KEY_ARN}
    key = _one(synthesis, "aws:kms/key:Key")
    assert key["enableKeyRotation"] is True and key["tags"]["purpose"] == "log-snapshots"
    block = _one(synthesis, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(block[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    (deny,) = json.loads(_one(synthesis, "aws:s3/bucketPolicy:BucketPolicy")["policy"])["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    rules = {r["id"]: r for r in _one(synthesis, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")["rules"]}
    assert rules["abort-incomplete-uploads"]["abortIncompleteMultipartUpload"]["daysAfterInitiation"] == 1
    expected_days = config.logging.snapshots.bucket.noncurrent_version_expiration_days
    assert rules["expire-pruned-versions"]["noncurrentVersionExpiration"]["noncurrentDays"] == expected_days
    # SLM owns the current snapshot files; the bucket never expires them behind its back
    assert not any("days" in r.get("expiration", {}) for r in rules.values())


@pytest.mark.parametrize("stage", PROMOTION_CHAIN)
def test_snapshot_role_may_use_the_snapshot_key_and_nothing_of_the_backup_bucket(synthesized, stage):
    statements = {s["Sid"]: s for s in _role_policy(synthesized(stage))["Statement"]}
    assert statements["SnapshotKey"]["Action"] == ["kms:GenerateDataKey", "kms:Decrypt"]
    assert statements["SnapshotKey"]["Resource"] == SNAPSHOT_KEY_ARN
    assert statements["ReadWriteSnapshots"]["Resource"] == f"{SNAPSHOT_BUCKET_ARN}/elasticsearch/*"
    assert "backup-bucket" not in json.dumps(statements)


def test_snapshot_repository_leaves_encryption_to_the_buckets_kms_default(synthesized):
    from tests.unit.test_logging_stack import setup_state

    config = load_stage_with("production").config
    repository = setup_state(synthesized("production"), "production")["snapshotRepositories"][config.logging.snapshots.repository]
    # `server_side_encryption: true` would ask for SSE-S3 (AES256) and bypass the bucket's own key
    assert "server_side_encryption" not in repository["settings"]


def _problems(stage, logging):
    with pytest.raises(ConfigError) as caught:
        load_stage_with(stage, {f"{P}:logging": logging})
    return {problem.path: problem.message for problem in caught.value.problems}


def test_a_stage_in_aws_without_a_snapshot_bucket_is_rejected():
    logging = section("staging", "logging")
    del logging["snapshots"]["bucket"]
    assert "required" in _problems("staging", logging)[f"{P}:logging.snapshots.bucket"]


def test_snapshots_into_the_object_locked_backup_bucket_are_rejected():
    logging = section("production", "logging")
    logging["snapshots"]["bucket"]["name"] = section("production", "backup")["bucket"]["name"]
    assert "Object Lock" in _problems("production", logging)[f"{P}:logging.snapshots.bucket.name"]


def test_switched_off_snapshots_need_no_bucket():
    logging = section("alpha", "logging")
    logging["snapshots"]["enabled"] = False
    del logging["snapshots"]["bucket"]
    assert load_stage_with("alpha", {f"{P}:logging": logging}).config.logging.snapshots.bucket is None
