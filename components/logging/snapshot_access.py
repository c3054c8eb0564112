"""IAM role (IRSA) that lets the Elasticsearch pods write snapshots below one prefix of the snapshot bucket
and use that bucket's SSE-KMS key."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class SnapshotAccessArgs:
    bucket: str
    base_path: str
    oidc_provider_arn: str
    oidc_issuer: str
    namespace: str
    service_account: str


def trust_policy(args: SnapshotAccessArgs) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": args.oidc_provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{args.oidc_issuer}:sub": f"system:serviceaccount:{args.namespace}:{args.service_account}",
                            f"{args.oidc_issuer}:aud": "sts.amazonaws.com",
                        }
                    },
                }
            ],
        },
        sort_keys=True,
    )


def access_policy(args: SnapshotAccessArgs, bucket_arn: str, key_arn: str) -> str:
    """Objects below the base path of the snapshot bucket, and its key for SSE-KMS; nothing else."""
    prefix = args.base_path.strip("/")
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ListSnapshotPrefix",
                    "Effect": "Allow",
                    "Action": ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
                    "Resource": bucket_arn,
                    "Condition": {"StringLike": {"s3:prefix": [prefix, f"{prefix}/*"]}},
                },
                {
                    "Sid": "ReadWriteSnapshots",
                    "Effect": "Allow",
                    "Action": [
                        "s3:GetObject",
                        "s3:PutObject",
                        "s3:DeleteObject",
                        "s3:AbortMultipartUpload",
                        "s3:ListMultipartUploadParts",
                    ],
                    "Resource": f"{bucket_arn}/{prefix}/*",
                },
                {
                    # the bucket encrypts every object under its key: writing needs a data key, reading a decrypt
                    "Sid": "SnapshotKey",
                    "Effect": "Allow",
                    "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                    "Resource": key_arn,
                },
            ],
        },
        sort_keys=True,
    )


def snapshot_role(
    name: str,
    args: SnapshotAccessArgs,
    bucket_arn: pulumi.Input[str],
    key_arn: pulumi.Input[str],
    parent: pulumi.Resource,
) -> aws.iam.Role:
    """The role and its inline policy; returns the role (its ARN goes into the pods' environment)."""
    role = aws.iam.Role(
        name,
        assume_role_policy=trust_policy(args),
        description=f"Elasticsearch snapshots to s3://{args.bucket}/{args.base_path}",
        max_session_duration=3600,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    aws.iam.RolePolicy(
        f"{name}-policy",
        role=role.id,
        policy=pulumi.Output.all(bucket_arn, key_arn).apply(lambda arns: access_policy(args, arns[0], arns[1])),
        opts=pulumi.ResourceOptions(parent=role),
    )
    return role
