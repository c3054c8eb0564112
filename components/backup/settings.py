"""The job's settings, read from the environment the CronJob (or an operator) provides."""

from __future__ import annotations

import os
from dataclasses import dataclass


class SettingsError(Exception):
    """A required environment variable is missing or malformed."""


@dataclass(frozen=True)
class JobSettings:
    bucket: str
    prefix: str
    database: str
    retention_days: int
    keep_last: int
    create_bucket: bool
    pg_bin: str
    part_size: int

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "JobSettings":
        env = dict(os.environ if env is None else env)
        missing = [name for name in ("BACKUP_BUCKET", "PGHOST", "PGDATABASE") if not env.get(name)]
        if missing:
            raise SettingsError(f"missing environment variable(s): {', '.join(missing)}")
        prefix = env.get("BACKUP_PREFIX", "workflow-platform/db/")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        try:
            retention_days = int(env.get("BACKUP_RETENTION_DAYS", "7"))
            keep_last = int(env.get("BACKUP_KEEP_LAST", "3"))
            part_size = int(env.get("BACKUP_PART_SIZE_MB", "16")) * 1024 * 1024
        except ValueError as error:
            raise SettingsError(f"BACKUP_RETENTION_DAYS, BACKUP_KEEP_LAST and BACKUP_PART_SIZE_MB must be integers: {error}")
        if part_size < 5 * 1024 * 1024:
            raise SettingsError("BACKUP_PART_SIZE_MB must be at least 5 (the S3 minimum part size)")
        return cls(
            bucket=env["BACKUP_BUCKET"],
            prefix=prefix,
            database=env["PGDATABASE"],
            retention_days=retention_days,
            keep_last=max(1, keep_last),
            create_bucket=env.get("BACKUP_CREATE_BUCKET", "false").lower() == "true",
            pg_bin=env.get("BACKUP_PG_BIN", ""),
            part_size=part_size,
        )
