"""The job's settings, read from the environment the CronJob (or an operator) provides.

Every variable is checked before the job touches the store or the database, with
the variable named and the allowed values stated. The limits mirror the stack
schema (`components/config/backup.py`; the job image has no pydantic, and
tests/unit/test_backup_settings.py keeps the two in step).
"""

from __future__ import annotations

import os
import re
import urllib.parse
from dataclasses import dataclass

#: S3 bucket naming (the stack schema's `backup.bucket.name` / `backup.inCluster.bucket`).
BUCKET_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
#: The stack schema's `backup.prefix`; empty means the bucket's root.
PREFIX_PATTERN = r"^[a-z0-9][a-z0-9/_.-]*/$"
#: AWS region names (us-east-1, eu-central-1, us-gov-west-1, cn-north-1, …).
REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$"
RETENTION_DAYS = (1, 3650)
#: the stack schema sets no upper bound; a million backups kept is already beyond any bucket listing
KEEP_LAST = (1, 1000000)
#: S3 parts are 5 MiB at least; the job holds (parts in flight + 1) parts in memory, so 1 GiB is plenty.
PART_SIZE_MB = (5, 1024)
PG_PORT = (1, 65535)
#: PostgreSQL silently truncates longer identifiers, so a longer name would address another database.
DATABASE_NAME_MAX_BYTES = 63
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
BOOLEANS = ("true", "false")

DEFAULTS = {
    "BACKUP_PREFIX": "workflow-platform/db/",
    "BACKUP_RETENTION_DAYS": "7",
    "BACKUP_KEEP_LAST": "3",
    "BACKUP_PART_SIZE_MB": "16",
    "BACKUP_CREATE_BUCKET": "false",
}


class SettingsError(Exception):
    """A required environment variable is missing or malformed."""


def check_database_name(name: str, what: str) -> str:
    """A database name as PostgreSQL stores it: 1–63 bytes of UTF-8, no NUL."""
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        raise SettingsError(f"{what} must be valid UTF-8") from None
    if not 1 <= size <= DATABASE_NAME_MAX_BYTES or "\0" in name:
        raise SettingsError(f"{what} must be a database name of 1 to {DATABASE_NAME_MAX_BYTES} bytes without NUL, "
                            f"got {size} bytes")
    return name


def _integer(env: dict[str, str], name: str, bounds: tuple[int, int]) -> int:
    text = env.get(name, DEFAULTS.get(name, "")).strip()
    low, high = bounds
    if not re.fullmatch(r"[0-9]{1,10}", text) or not low <= int(text) <= high:
        raise SettingsError(f"{name} must be an integer from {low} to {high}, got {text[:40]!r}")
    return int(text)


def _pattern(env: dict[str, str], name: str, pattern: str, expected: str) -> str:
    value = env.get(name, DEFAULTS.get(name, ""))
    if not re.fullmatch(pattern, value) or ".." in value or "//" in value:
        raise SettingsError(f"{name} must be {expected}, got {value[:80]!r}")
    return value


def _choice(env: dict[str, str], name: str, allowed: tuple[str, ...]) -> str:
    value = env.get(name, DEFAULTS.get(name, ""))
    if value not in allowed:
        raise SettingsError(f"{name} must be one of {', '.join(allowed)}, got {value[:40]!r}")
    return value


def _check_endpoint(value: str) -> None:
    try:
        url = urllib.parse.urlsplit(value)
        url.port  # noqa: B018  (raises on a malformed port)
    except ValueError:
        url = None
    if (url is None or url.scheme not in ("http", "https") or not url.hostname or url.username or url.password
            or url.query or url.fragment or url.path not in ("", "/")):
        # never echo the value: an endpoint with user:password@ would print a credential
        raise SettingsError("AWS_ENDPOINT_URL_S3 must be an http(s) URL of a host and optional port, without "
                            "credentials, path or query")


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
        bucket = _pattern(env, "BACKUP_BUCKET", BUCKET_PATTERN,
                          "an S3 bucket name (3 to 63 of a-z 0-9 . -, starting and ending with a letter or digit)")
        prefix = env.get("BACKUP_PREFIX", DEFAULTS["BACKUP_PREFIX"])
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        if prefix:
            prefix = _pattern({"BACKUP_PREFIX": prefix}, "BACKUP_PREFIX", PREFIX_PATTERN,
                              "a key prefix of a-z 0-9 / _ . - starting with a letter or digit, without '..' or '//'")
        database = check_database_name(env["PGDATABASE"], "PGDATABASE")
        if "PGPORT" in env:
            _integer(env, "PGPORT", PG_PORT)
        if "PGSSLMODE" in env:
            _choice(env, "PGSSLMODE", SSL_MODES)
        if "PGCONNECT_TIMEOUT" in env:
            _integer(env, "PGCONNECT_TIMEOUT", (1, 3600))
        for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
            if name in env:
                _pattern(env, name, REGION_PATTERN, "an AWS region name such as eu-central-1")
        if "AWS_ENDPOINT_URL_S3" in env:
            _check_endpoint(env["AWS_ENDPOINT_URL_S3"])
        pg_bin = env.get("BACKUP_PG_BIN", "")
        if pg_bin and not (os.path.isabs(pg_bin) and os.path.isdir(pg_bin)):
            raise SettingsError(f"BACKUP_PG_BIN must be the absolute path of a directory holding psql, pg_dump and "
                                f"pg_restore, got {pg_bin[:80]!r}")
        return cls(
            bucket=bucket,
            prefix=prefix,
            database=database,
            retention_days=_integer(env, "BACKUP_RETENTION_DAYS", RETENTION_DAYS),
            keep_last=_integer(env, "BACKUP_KEEP_LAST", KEEP_LAST),
            create_bucket=_choice(env, "BACKUP_CREATE_BUCKET", BOOLEANS) == "true",
            pg_bin=pg_bin,
            part_size=_integer(env, "BACKUP_PART_SIZE_MB", PART_SIZE_MB) * 1024 * 1024,
        )
