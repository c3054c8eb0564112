"""Backup configuration: schedules, retention, Object Lock, where backups are stored, job limits.

Two kinds of store: `aws-s3` (a bucket the program creates, for stages in AWS)
and `in-cluster` (an S3-compatible server on a volume in the data namespace,
for a laptop cluster without a cloud account).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .types import ComputeResources, CpuQuantity, Cron, DnsLabel, Duration, MemoryQuantity, Section


class BucketConfig(Section):
    """The AWS backup bucket (store `aws-s3`)."""

    name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", description="globally unique S3 bucket name"
    )
    transition_days: int | None = Field(
        default=None, ge=1, description="days after which a backup moves to `transitionStorageClass`"
    )
    transition_storage_class: Literal["STANDARD_IA", "GLACIER_IR", "ONEZONE_IA"] = "GLACIER_IR"
    noncurrent_version_expiration_days: int = Field(
        default=7, ge=1, description="days a pruned (non-current) backup version is kept before it is deleted"
    )
    force_destroy: bool = Field(default=False, description="let `pulumi destroy` delete a non-empty bucket")


class InClusterStoreConfig(Section):
    """An S3-compatible server inside the cluster (store `in-cluster`)."""

    bucket: str = Field(default="workflow-backups", pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    volume_size: MemoryQuantity = "10Gi"
    storage_class_name: DnsLabel | None = None


class JobResources(ComputeResources):
    """Requests and limits of the backup and restore-drill containers."""

    cpu_request: CpuQuantity = "250m"
    memory_request: MemoryQuantity = "256Mi"
    cpu_limit: CpuQuantity = "1"
    memory_limit: MemoryQuantity = "512Mi"


class DatabaseTarget(Section):
    """The database the jobs back up (the CNPG primary Service and its app Secret)."""

    host: str = "workflow-db-rw"
    port: int = Field(default=5432, ge=1, le=65535)
    name: str = "workflow"
    credentials_secret: DnsLabel = Field(
        default="workflow-db-app", description="Secret with keys username/password; the role needs CREATEDB for the drill"
    )


class BackupConfig(Section):
    """Database backups and the restore drill."""

    schedule: Cron = Field(description="when the backup CronJob runs")
    restore_drill_schedule: Cron = Field(description="when the restore-drill CronJob runs")
    rpo: Duration = Field(description="recovery point objective: the oldest a last good backup may be")
    retention_days: int = Field(ge=1, le=3650, description="backups older than this are pruned by the job")
    keep_last: int = Field(default=3, ge=1, description="backups never pruned, whatever their age")
    object_lock_days: int = Field(
        default=0, ge=0, description="Object Lock default retention of every backup object; 0 disables the lock"
    )
    object_lock_mode: Literal["GOVERNANCE", "COMPLIANCE"] = "GOVERNANCE"
    store: Literal["aws-s3", "in-cluster"] = Field(description="where backups are stored")
    bucket: BucketConfig | None = Field(default=None, description="required when store is 'aws-s3'")
    in_cluster: InClusterStoreConfig = InClusterStoreConfig()
    prefix: str = Field(
        default="workflow-platform/db/",
        pattern=r"^[a-z0-9][a-z0-9/_.-]*/$",
        description="key prefix of every backup object; the job's IAM role is limited to it",
    )
    database: DatabaseTarget = DatabaseTarget()
    resources: JobResources = JobResources()
    backoff_limit: int = Field(default=1, ge=0, le=10)
    active_deadline: Duration = Field(default="2h", description="a job running longer is killed and fails")
    starting_deadline: Duration = Field(default="30m", description="a run that cannot start within this is skipped")
    successful_jobs_history_limit: int = Field(default=3, ge=0, le=20)
    failed_jobs_history_limit: int = Field(default=5, ge=1, le=20)
    scratch_volume_size: MemoryQuantity = Field(default="1Gi", description="emptyDir for the job's temporary files")
