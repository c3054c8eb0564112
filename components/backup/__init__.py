"""Database backups: the Pulumi components that deploy them and, in `job/`, the program that runs in the cluster.

The job program (`components.backup.job`) imports only the standard library and boto3, so the job image
needs no Pulumi SDK: import the components from `components.backup.component` (not from this package).
"""
