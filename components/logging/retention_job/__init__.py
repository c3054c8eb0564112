"""The logging setup job, the program the logging setup Job runs in the cluster.

`python -m components.logging.retention_job [--state FILE] [--check]`; the program lives in
`converge`. Standard library only (no Pulumi, no pydantic, no component), so it runs in any
Python 3.11+ image; the job image (components/backup/Containerfile) carries this folder.
"""
