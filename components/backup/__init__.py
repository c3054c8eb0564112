"""Database backups: the job that runs in the cluster and the Pulumi components that deploy it.

The job modules (`job`, `settings`, `manifest`, `store`, `pg`) import only the
standard library and boto3, so the job image needs no Pulumi SDK: import the
components from `components.backup.component` (not from this package).
"""
