"""The AWS backup bucket: versioned, SSE-KMS under its own rotating key, Object Lock, lifecycle, TLS only,
and the IRSA role that lets exactly one ServiceAccount use the platform's prefix and that key."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.config.aws import AwsConfig
from components.config.backup import BackupConfig
from components.kube import child

from components.hardened_bucket import HardenedBucketSpec, ObjectLockRule, build_hardened_bucket, housekeeping_rules
from components.hardened_bucket import tls_only_policy  # noqa: F401  (re-exported: the bucket policy of every store)


@dataclass(frozen=True)
class BackupBucketArgs:
    stage: str
    settings: BackupConfig
    account: AwsConfig
    #: the Kubernetes ServiceAccount allowed to assume the role, as (namespace, name)
    service_account: tuple[str, str]


def trust_policy(account: AwsConfig, namespace: str, service_account: str) -> str:
    """Only tokens the cluster's OIDC issuer minted for this one ServiceAccount may assume the role."""
    issuer = account.eks_oidc_issuer
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": account.eks_oidc_provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                f"{issuer}:aud": "sts.amazonaws.com",
            }},
        }],
    }, sort_keys=True)


def access_policy(bucket_arn: str, key_arn: str, prefix: str) -> str:
    """Put/get/list/delete under the prefix only, and the bucket's key for SSE-KMS; nothing else."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ListPlatformPrefix",
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:ListBucketMultipartUploads"],
                "Resource": bucket_arn,
                "Condition": {"StringLike": {"s3:prefix": [prefix, f"{prefix}*"]}},
            },
            {
                "Sid": "ObjectsUnderPlatformPrefix",
                "Effect": "Allow",
                "Action": [
                    "s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:GetObjectRetention",
                    "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts",
                ],
                "Resource": f"{bucket_arn}/{prefix}*",
            },
            {
                "Sid": "BackupKey",
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                "Resource": key_arn,
            },
        ],
    }, sort_keys=True)


def lifecycle_rules(settings: BackupConfig) -> list[dict]:
    """Cheaper storage for older backups and clean-up of what pruning leaves; current backups never expire
    here (the job prunes them and always keeps the newest), so a stopped schedule cannot empty the bucket."""
    bucket = settings.bucket
    rules = housekeeping_rules(settings.prefix, bucket.noncurrent_version_expiration_days)
    if bucket.transition_days is not None:
        rules.append({"id": "older-backups-to-cheaper-storage", "status": "Enabled",
                      "filter": {"prefix": f"{settings.prefix}backups/"},
                      "transitions": [{"days": bucket.transition_days, "storage_class": bucket.transition_storage_class}]})
    return rules


class BackupBucket(pulumi.ComponentResource):
    """The bucket, its key and the role the backup jobs assume."""

    bucket_name: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: BackupBucketArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("wf:backup:BackupBucket", name, None, opts)
        settings, bucket_settings = args.settings, args.settings.bucket
        tags = {"project": "workflow-platform", "stage": args.stage, "purpose": "database-backups"}
        store = build_hardened_bucket(
            name,
            HardenedBucketSpec(
                stage=args.stage,
                purpose="database-backups",
                bucket_name=bucket_settings.name,
                key_alias=f"alias/workflow-{args.stage}-db-backups",
                lifecycle_rules=lifecycle_rules(settings),
                force_destroy=bucket_settings.force_destroy,
                object_lock=(ObjectLockRule(settings.object_lock_mode, settings.object_lock_days)
                             if settings.object_lock_days > 0 else None),
            ),
            parent=self,
        )
        bucket, key = store.bucket, store.key

        namespace, account_name = args.service_account
        role = aws.iam.Role(
            f"{name}-role",
            name=f"workflow-{args.stage}-db-backup",
            description="assumed by the backup and restore-drill jobs through IRSA",
            assume_role_policy=trust_policy(args.account, namespace, account_name),
            max_session_duration=3 * 3600,
            tags=tags,
            opts=child(self),
        )
        aws.iam.RolePolicy(
            f"{name}-role-access",
            role=role.id,
            policy=pulumi.Output.all(bucket.arn, key.arn).apply(
                lambda arns: access_policy(arns[0], arns[1], settings.prefix)
            ),
            opts=child(self),
        )

        self.bucket_name = bucket.bucket
        self.role_arn = role.arn
        self.key_arn = key.arn
        self.register_outputs({"bucket_name": self.bucket_name, "role_arn": self.role_arn, "key_arn": self.key_arn})
