"""Facts of the backup concern that other concerns read: the CronJobs, their pods and the in-cluster store.

Pure (standard library and `components.facts` only): the flows table, the
backup alerts and dashboards, and verification name the jobs from here.
"""

from __future__ import annotations

from components.facts import own_pods

BACKUP_CRONJOB = "workflow-db-backup"
RESTORE_DRILL_CRONJOB = "workflow-db-restore-drill"
CRONJOBS = (BACKUP_CRONJOB, RESTORE_DRILL_CRONJOB)
SERVICE_ACCOUNT = "workflow-backup"
#: The module the CronJobs run (DESIGN.md, "Backup job").
JOB_MODULE = "components.backup.job"

#: The pods of each CronJob's jobs, in the order of CRONJOBS.
JOB_PODS = tuple(own_pods(name) for name in CRONJOBS)

#: The S3-compatible server of stages without a cloud account.
STORE_NAME = "workflow-backup-store"
STORE_PORT = 7070
STORE_PODS = own_pods(STORE_NAME)
