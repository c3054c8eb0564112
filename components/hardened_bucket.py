"""The platform's hardened S3 bucket model, shared by every bucket it creates (database backups, log snapshots).

One dedicated KMS key with yearly rotation, SSE-KMS by default, versioning, public access blocked, bucket-owner
object ownership, a TLS-only bucket policy, lifecycle rules and, where the data allows it, Object Lock.
Resources are created as children of the caller's component, so their URNs stay those of the caller.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.kube import child


@dataclass(frozen=True)
class ObjectLockRule:
    """Default retention applied to every new object version."""

    mode: str
    days: int


@dataclass(frozen=True)
class HardenedBucketSpec:
    stage: str
    #: the `purpose` tag and the key's description, e.g. "database-backups"
    purpose: str
    bucket_name: str
    key_alias: str
    lifecycle_rules: list[dict]
    force_destroy: bool = False
    object_lock: ObjectLockRule | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HardenedBucket:
    bucket: aws.s3.Bucket
    key: aws.kms.Key


def tls_only_policy(bucket_arn: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }],
    }, sort_keys=True)


def housekeeping_rules(prefix: str, noncurrent_days: int) -> list[dict]:
    """Rules every bucket gets below its prefix: abort stale multipart uploads, expire superseded versions after
    `noncurrent_days` (the undo window of a delete), remove delete markers that no longer hide anything."""
    scope = {"prefix": prefix}
    return [
        {"id": "abort-incomplete-uploads", "status": "Enabled", "filter": scope,
         "abort_incomplete_multipart_upload": {"days_after_initiation": 1}},
        {"id": "expire-pruned-versions", "status": "Enabled", "filter": scope,
         "noncurrent_version_expiration": {"noncurrent_days": noncurrent_days}},
        {"id": "remove-expired-delete-markers", "status": "Enabled", "filter": scope,
         "expiration": {"expired_object_delete_marker": True}},
    ]


def build_hardened_bucket(name: str, spec: HardenedBucketSpec, parent: pulumi.Resource) -> HardenedBucket:
    """Declare the key, bucket and bucket settings as children of `parent`, resource names prefixed by `name`."""
    tags = {"project": "workflow-platform", "stage": spec.stage, "purpose": spec.purpose, **spec.tags}
    key = aws.kms.Key(
        f"{name}-key",
        description=f"workflow-platform {spec.stage}: {spec.purpose.replace('-', ' ')}",
        enable_key_rotation=True,
        rotation_period_in_days=365,
        deletion_window_in_days=30,
        tags=tags,
        opts=child(parent),
    )
    aws.kms.Alias(f"{name}-key-alias", name=spec.key_alias, target_key_id=key.key_id, opts=child(parent))

    bucket = aws.s3.Bucket(
        f"{name}-bucket",
        bucket=spec.bucket_name,
        object_lock_enabled=spec.object_lock is not None,
        force_destroy=spec.force_destroy,
        tags=tags,
        opts=child(parent, protect=not spec.force_destroy),
    )
    in_bucket = child(parent, depends_on=[bucket])
    block = aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
        ignore_public_acls=True, restrict_public_buckets=True, opts=in_bucket,
    )
    aws.s3.BucketOwnershipControls(
        f"{name}-ownership", bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=in_bucket
    )
    versioning = aws.s3.BucketVersioning(
        f"{name}-versioning", bucket=bucket.id, versioning_configuration={"status": "Enabled"}, opts=in_bucket
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption",
        bucket=bucket.id,
        rules=[{
            "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": key.arn},
            "bucket_key_enabled": True,
        }],
        opts=in_bucket,
    )
    if spec.object_lock is not None:
        aws.s3.BucketObjectLockConfiguration(
            f"{name}-object-lock",
            bucket=bucket.id,
            object_lock_enabled="Enabled",
            rule={"default_retention": {"mode": spec.object_lock.mode, "days": spec.object_lock.days}},
            opts=child(parent, depends_on=[versioning]),
        )
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-lifecycle", bucket=bucket.id, rules=spec.lifecycle_rules,
        opts=child(parent, depends_on=[versioning]),
    )
    aws.s3.BucketPolicy(
        f"{name}-tls-only", bucket=bucket.id, policy=bucket.arn.apply(tls_only_policy),
        opts=child(parent, depends_on=[block]),
    )
    return HardenedBucket(bucket=bucket, key=key)
