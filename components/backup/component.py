"""Database backups of one stage: the object store (AWS bucket or in-cluster server) and the two CronJobs."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.config.aws import AwsConfig
from components.config.backup import BackupConfig
from components.kube import child

from .aws_store import BackupBucket, BackupBucketArgs
from .cronjobs import SERVICE_ACCOUNT, BackupJobs, BackupJobsArgs
from .in_cluster_store import REGION, InClusterObjectStore, InClusterObjectStoreArgs


@dataclass(frozen=True)
class DatabaseBackupsArgs:
    stage: str
    namespace: str
    settings: BackupConfig
    job_image: str
    aws: AwsConfig | None = None
    object_store_image: str | None = None
    aws_provider: pulumi.ProviderResource | None = None


class DatabaseBackups(pulumi.ComponentResource):
    """Where backups go and the jobs that make and prove them."""

    bucket: str
    role_arn: pulumi.Output[str] | None
    backup_cronjob: pulumi.Output[str]
    restore_drill_cronjob: pulumi.Output[str]

    def __init__(self, name: str, args: DatabaseBackupsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("wf:backup:DatabaseBackups", name, None, opts)
        settings = args.settings
        self.role_arn = None
        if settings.store == "aws-s3":
            store = BackupBucket(
                f"{name}-bucket",
                BackupBucketArgs(stage=args.stage, settings=settings, account=args.aws,
                                 service_account=(args.namespace, SERVICE_ACCOUNT)),
                opts=child(self, providers={"aws": args.aws_provider} if args.aws_provider else None),
            )
            self.bucket = settings.bucket.name
            self.role_arn = store.role_arn
            jobs_args = BackupJobsArgs(
                namespace=args.namespace, image=args.job_image, settings=settings, bucket=self.bucket,
                store_env={"AWS_REGION": args.aws.region}, role_arn=store.role_arn,
            )
            # the jobs' pods write to the bucket with the role's policy: the whole store exists first
            requires: list[pulumi.Resource] = [store]
        else:
            store = InClusterObjectStore(
                f"{name}-store",
                InClusterObjectStoreArgs(namespace=args.namespace, image=args.object_store_image,
                                         settings=settings.in_cluster),
                opts=child(self),
            )
            self.bucket = settings.in_cluster.bucket
            jobs_args = BackupJobsArgs(
                namespace=args.namespace, image=args.job_image, settings=settings, bucket=self.bucket,
                store_env={"AWS_REGION": REGION, "AWS_ENDPOINT_URL_S3": store.endpoint, "BACKUP_CREATE_BUCKET": "true"},
                store_secret_env={"AWS_ACCESS_KEY_ID": (store.credentials_secret, "accessKeyId"),
                                  "AWS_SECRET_ACCESS_KEY": (store.credentials_secret, "secretAccessKey")},
            )
            # the jobs follow the credentials Secret they reference (above), not the server's readiness (its
            # Service's endpoints): a CronJob first runs at its schedule, so that wait would only delay `pulumi up`
            requires = []
        jobs = BackupJobs(f"{name}-jobs", jobs_args, opts=child(self, depends_on=requires))
        self.backup_cronjob = jobs.backup_cronjob
        self.restore_drill_cronjob = jobs.restore_drill_cronjob
        self.register_outputs({"bucket": self.bucket, "backup_cronjob": self.backup_cronjob})
