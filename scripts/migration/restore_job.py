"""A one-off Job from the backup CronJob that runs another backup-job command against a source backup.

Reads the CronJob (JSON, `kubectl get cronjob workflow-db-backup -o json`) on
stdin and writes the Job on stdout: same image, credentials, security context
and labels (so the network policies that let backups reach the database and
the object store apply), with BACKUP_BUCKET/BACKUP_PREFIX pointed at the
backups to migrate from and the command replaced.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from typing import Any

#: What `python -m components.backup.job` restores into: the application database.
APP_DATABASE_ENV = "PGDATABASE"


def restore_job(cronjob: dict[str, Any], name: str, command: str, bucket: str, prefix: str, backup_id: str | None) -> dict[str, Any]:
    template = copy.deepcopy(cronjob["spec"]["jobTemplate"])
    spec = template["spec"]
    pod = spec["template"]["spec"]
    [container] = pod["containers"]
    env = {item["name"]: item for item in container.get("env", [])}
    env["BACKUP_BUCKET"] = {"name": "BACKUP_BUCKET", "value": bucket}
    env["BACKUP_PREFIX"] = {"name": "BACKUP_PREFIX", "value": prefix}
    container["env"] = list(env.values())
    args = [command]
    if command == "restore":
        database = env.get(APP_DATABASE_ENV, {}).get("value")
        if not database:
            raise SystemExit(f"the CronJob sets no plain {APP_DATABASE_ENV}: cannot tell which database to restore into")
        args += ["--target-database", database]
        if backup_id:
            args += ["--backup-id", backup_id]
    container["command"] = ["python3", "-m", "components.backup.job", *args]
    container["name"] = command
    spec["backoffLimit"] = 0  # a failed restore is investigated, never retried blindly
    spec.pop("activeDeadlineSeconds", None)
    metadata = cronjob["metadata"]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name if command == "restore" else f"{name}-{command}",
            "namespace": metadata["namespace"],
            "labels": {**template.get("metadata", {}).get("labels", {}), "workflow-platform/migration": "restore"},
        },
        "spec": spec,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True)
    parser.add_argument("--command", choices=["restore", "list"], required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--backup-id")
    args = parser.parse_args(argv)
    job = restore_job(json.load(sys.stdin), args.name, args.command, args.bucket, args.prefix, args.backup_id)
    json.dump(job, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
