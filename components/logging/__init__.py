"""Logging: the ECK operator, Elasticsearch, Kibana, Filebeat and the retention/snapshot setup job.

The component lives in `components.logging.component`; this package file stays
empty so that `python -m components.logging.retention_job` (the program in
`retention_job/`, standard library only) runs in a job image without importing Pulumi.
"""
