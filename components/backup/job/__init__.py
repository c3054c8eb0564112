"""The backup job, the program the backup and restore-drill CronJobs run in the cluster.

`python -m components.backup.job backup|restore-drill|restore|list` (DESIGN.md, "Backup job"); the
commands live in `commands`. Standard library, boto3/botocore and the PostgreSQL client tools only
(no Pulumi, no pydantic, no component), so the job image (components/backup/Containerfile) carries
this folder and nothing else of the repository.
"""
