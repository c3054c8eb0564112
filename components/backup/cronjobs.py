"""The backup and restore-drill CronJobs and the ServiceAccount they run as."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.config.backup import BackupConfig
from components.config.types import duration_seconds
from components.kube import (
    SECRET_ENV_REASON,
    checkov_skips,
    child,
    restricted_container_security_context,
    restricted_pod_security_context,
    standard_labels,
    tag_only_image_reasons,
)

from .facts import BACKUP_CRONJOB, JOB_MODULE, RESTORE_DRILL_CRONJOB, SERVICE_ACCOUNT

IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
JOB_UID = 10001  # the job image's non-root user


@dataclass(frozen=True)
class BackupJobsArgs:
    namespace: str
    image: str
    settings: BackupConfig
    bucket: str
    #: plain settings for the job container (AWS_REGION, AWS_ENDPOINT_URL_S3, …)
    store_env: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    #: variables filled from Secrets: name → (secret, key)
    store_secret_env: dict[str, tuple[pulumi.Input[str], str]] = field(default_factory=dict)
    role_arn: pulumi.Input[str] | None = None


def job_env(args: BackupJobsArgs) -> list[dict]:
    """The job's contract: libpq variables, BACKUP_*, AWS_* (DESIGN.md, 'Backup job')."""
    settings, database = args.settings, args.settings.database
    plain = {
        "PGHOST": database.host,
        "PGPORT": str(database.port),
        "PGDATABASE": database.name,
        "PGSSLMODE": "require",
        "PGCONNECT_TIMEOUT": "10",
        "BACKUP_BUCKET": args.bucket,
        "BACKUP_PREFIX": settings.prefix,
        "BACKUP_RETENTION_DAYS": str(settings.retention_days),
        "BACKUP_KEEP_LAST": str(settings.keep_last),
        "HOME": "/tmp",
        **args.store_env,
    }
    secret_refs = {
        "PGUSER": (database.credentials_secret, "username"),
        "PGPASSWORD": (database.credentials_secret, "password"),
        **args.store_secret_env,
    }
    env = [{"name": name, "value": value} for name, value in sorted(plain.items())]
    env += [
        {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}
        for name, (secret, key) in sorted(secret_refs.items())
    ]
    return env


class BackupJobs(pulumi.ComponentResource):
    """`workflow-db-backup` and `workflow-db-restore-drill`, PSS-restricted, never overlapping."""

    backup_cronjob: pulumi.Output[str]
    restore_drill_cronjob: pulumi.Output[str]

    def __init__(self, name: str, args: BackupJobsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("wf:backup:BackupJobs", name, None, opts)
        settings = args.settings
        account = k8s.core.v1.ServiceAccount(
            f"{name}-account",
            metadata={
                "name": SERVICE_ACCOUNT,
                "namespace": args.namespace,
                "labels": standard_labels(SERVICE_ACCOUNT, "backup"),
                **({"annotations": {IRSA_ANNOTATION: args.role_arn}} if args.role_arn is not None else {}),
            },
            # the EKS identity webhook projects its own token; the API token is not needed
            automount_service_account_token=False,
            opts=child(self),
        )
        backup = self._cronjob(f"{name}-backup", args, account, BACKUP_CRONJOB, settings.schedule, "backup")
        drill = self._cronjob(
            f"{name}-restore-drill", args, account, RESTORE_DRILL_CRONJOB, settings.restore_drill_schedule, "restore-drill"
        )
        self.backup_cronjob = backup.metadata["name"]
        self.restore_drill_cronjob = drill.metadata["name"]
        self.register_outputs({"backup_cronjob": self.backup_cronjob, "restore_drill_cronjob": self.restore_drill_cronjob})

    def _cronjob(
        self, resource: str, args: BackupJobsArgs, account: k8s.core.v1.ServiceAccount, job_name: str, schedule: str, command: str
    ) -> k8s.batch.v1.CronJob:
        """One CronJob running one command of the job, never overlapping its previous run."""
        settings = args.settings
        labels = standard_labels(job_name, "backup")
        container = {
            "name": command,
            "image": args.image,
            "imagePullPolicy": "IfNotPresent",
            "command": ["python3", "-m", JOB_MODULE, command],
            "env": job_env(args),
            "resources": settings.resources.as_kubernetes(),
            "securityContext": restricted_container_security_context(),
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        }
        return k8s.batch.v1.CronJob(
            resource,
            metadata={
                "name": job_name,
                "namespace": args.namespace,
                "labels": labels,
                # the job contract (DESIGN.md) takes PGPASSWORD and the store keys from the environment
                "annotations": checkov_skips({"CKV_K8S_35": SECRET_ENV_REASON, **tag_only_image_reasons(args.image)}),
            },
            spec={
                "schedule": schedule,
                "timeZone": "Etc/UTC",
                "concurrencyPolicy": "Forbid",
                "startingDeadlineSeconds": duration_seconds(settings.starting_deadline),
                "successfulJobsHistoryLimit": settings.successful_jobs_history_limit,
                "failedJobsHistoryLimit": settings.failed_jobs_history_limit,
                "jobTemplate": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "backoffLimit": settings.backoff_limit,
                        "activeDeadlineSeconds": duration_seconds(settings.active_deadline),
                        "template": {
                            "metadata": {"labels": labels},
                            "spec": {
                                "serviceAccountName": account.metadata["name"],
                                "automountServiceAccountToken": False,
                                "restartPolicy": "Never",
                                "securityContext": restricted_pod_security_context(JOB_UID),
                                "containers": [container],
                                "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": settings.scratch_volume_size}}],
                            },
                        },
                    },
                },
            },
            opts=child(self, depends_on=[account]),
        )
