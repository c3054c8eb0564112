"""The backup job's environment surface: every variable is checked, named and bounded before any work starts."""

from __future__ import annotations

import os

import pytest

from components.backup.job import commands as job
from components.backup.job import settings
from components.backup.job.settings import JobSettings, SettingsError
from components.config.backup import BackupConfig, BucketConfig, InClusterStoreConfig

VALID = {
    "PGHOST": "workflow-db-rw",
    "PGPORT": "5432",
    "PGDATABASE": "workflow",
    "PGSSLMODE": "require",
    "PGCONNECT_TIMEOUT": "10",
    "BACKUP_BUCKET": "example-workflow-alpha-db-backups",
    "BACKUP_PREFIX": "workflow-platform/db/",
    "BACKUP_RETENTION_DAYS": "7",
    "BACKUP_KEEP_LAST": "3",
    "BACKUP_PART_SIZE_MB": "16",
    "BACKUP_CREATE_BUCKET": "false",
    "AWS_REGION": "eu-central-1",
    "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9000",
}

UNREACHABLE = {**VALID, "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9", "PGHOST": "127.0.0.1", "PGPORT": "9"}

#: (variable, bad value): each must be refused naming the variable.
MUTATIONS = [
    ("BACKUP_RETENTION_DAYS", "-3"),
    ("BACKUP_RETENTION_DAYS", "0"),
    ("BACKUP_RETENTION_DAYS", "3651"),
    ("BACKUP_RETENTION_DAYS", "seven"),
    ("BACKUP_RETENTION_DAYS", "7.5"),
    ("BACKUP_RETENTION_DAYS", ""),
    ("BACKUP_RETENTION_DAYS", "9" * 400),
    ("BACKUP_RETENTION_DAYS", "٣"),  # a Unicode digit int() would accept
    ("BACKUP_KEEP_LAST", "0"),
    ("BACKUP_KEEP_LAST", "-1"),
    ("BACKUP_KEEP_LAST", "1e3"),
    ("BACKUP_PART_SIZE_MB", "4"),
    ("BACKUP_PART_SIZE_MB", "1025"),
    ("BACKUP_PART_SIZE_MB", "16MB"),
    ("BACKUP_BUCKET", "b"),
    ("BACKUP_BUCKET", "Upper-Case"),
    ("BACKUP_BUCKET", "bucket/../other"),
    ("BACKUP_BUCKET", "a" * 64),
    ("BACKUP_BUCKET", "my..bucket"),
    ("BACKUP_BUCKET", "bucket\nname"),
    ("BACKUP_PREFIX", "/absolute/"),
    ("BACKUP_PREFIX", "../other-prefix/"),
    ("BACKUP_PREFIX", "a//b/"),
    ("BACKUP_PREFIX", "db prefix/"),
    ("BACKUP_PREFIX", "dé/"),
    ("BACKUP_CREATE_BUCKET", "yes"),
    ("BACKUP_CREATE_BUCKET", ""),
    ("BACKUP_PG_BIN", "relative/bin"),
    ("BACKUP_PG_BIN", "/does/not/exist"),
    ("PGDATABASE", "x" * 64),
    ("PGDATABASE", "work\0flow"),
    ("PGDATABASE", "\udcff"),  # a non-UTF-8 byte, as os.environ decodes it
    ("PGPORT", "0"),
    ("PGPORT", "65536"),
    ("PGPORT", "5432; DROP"),
    ("PGSSLMODE", "required"),
    ("PGCONNECT_TIMEOUT", "-1"),
    ("AWS_REGION", "Europe"),
    ("AWS_REGION", "eu-central-1\n"),
    ("AWS_REGION", ""),
    ("AWS_ENDPOINT_URL_S3", "ftp://127.0.0.1:9000"),
    ("AWS_ENDPOINT_URL_S3", "127.0.0.1:9000"),
    ("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:99999"),
    ("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000/bucket?x=1"),
    ("AWS_ENDPOINT_URL_S3", "http://minio:s3cr3t-value@127.0.0.1:9000"),  # pragma: allowlist secret (a fake the validator must refuse)
]


def test_the_valid_environment_is_accepted():
    parsed = JobSettings.from_env(VALID)
    assert (parsed.retention_days, parsed.keep_last, parsed.part_size) == (7, 3, 16 * 1024 * 1024)
    assert parsed.bucket == VALID["BACKUP_BUCKET"] and parsed.prefix == VALID["BACKUP_PREFIX"]


@pytest.mark.parametrize(("name", "value"), MUTATIONS, ids=[f"{n}={v[:20]!r}" for n, v in MUTATIONS])
def test_a_bad_variable_is_refused_naming_it(name, value):
    with pytest.raises(SettingsError, match=name) as raised:
        JobSettings.from_env({**VALID, name: value})
    assert "s3cr3t-value" not in str(raised.value), "a credential inside the endpoint URL is never printed"


@pytest.mark.parametrize(("name", "low", "high"), [
    ("BACKUP_RETENTION_DAYS", *settings.RETENTION_DAYS),
    ("BACKUP_KEEP_LAST", *settings.KEEP_LAST),
    ("BACKUP_PART_SIZE_MB", *settings.PART_SIZE_MB),
    ("PGPORT", *settings.PG_PORT),
])
def test_integer_ranges_are_inclusive_and_stated(name, low, high):
    for accepted in (low, high):
        JobSettings.from_env({**VALID, name: str(accepted)})
    for refused in (low - 1, high + 1):
        with pytest.raises(SettingsError, match=f"{name} must be an integer from {low} to {high}"):
            JobSettings.from_env({**VALID, name: str(refused)})


def test_a_63_byte_database_name_is_accepted_and_64_refused():
    JobSettings.from_env({**VALID, "PGDATABASE": "é" * 31 + "x"})  # 63 bytes
    with pytest.raises(SettingsError, match="PGDATABASE must be a database name of 1 to 63 bytes"):
        JobSettings.from_env({**VALID, "PGDATABASE": "é" * 32})


def test_the_job_limits_are_the_stack_schema_limits():
    def pattern(field) -> str:
        (meta,) = [m for m in field.metadata if getattr(m, "pattern", None)]
        return meta.pattern

    assert settings.BUCKET_PATTERN == pattern(BucketConfig.model_fields["name"])
    assert settings.BUCKET_PATTERN == pattern(InClusterStoreConfig.model_fields["bucket"])
    assert settings.PREFIX_PATTERN == pattern(BackupConfig.model_fields["prefix"])
    bounds = {type(m).__name__: m for m in BackupConfig.model_fields["retention_days"].metadata}
    assert settings.RETENTION_DAYS == (bounds["Ge"].ge, bounds["Le"].le)
    (keep_last_min,) = [m.ge for m in BackupConfig.model_fields["keep_last"].metadata if hasattr(m, "ge")]
    assert settings.KEEP_LAST[0] == keep_last_min
    assert settings.DEFAULTS["BACKUP_PREFIX"] == BackupConfig.model_fields["prefix"].default


#: a sample over every kind of variable; NUL cannot be put into an environment at all
IN_ENVIRONMENT = [m for m in MUTATIONS[::3] if "\0" not in m[1]]


@pytest.mark.parametrize("command", [["backup"], ["restore-drill"], ["list"], ["restore", "--target-database", "x"]])
@pytest.mark.parametrize(("name", "value"), IN_ENVIRONMENT, ids=[f"{n}={v[:20]!r}" for n, v in IN_ENVIRONMENT])
def test_every_command_refuses_bad_settings_before_touching_anything(monkeypatch, capsys, command, name, value):
    # the store and the database are unreachable: reaching either would end in exit 1, not the usage error 2
    for key in list(os.environ):
        if key.startswith(("PG", "AWS_", "BACKUP_")):
            monkeypatch.delenv(key)
    for key, setting in {**UNREACHABLE, name: value}.items():
        monkeypatch.setenv(key, setting)
    assert job.main(command) == 2
    output = capsys.readouterr().out
    assert name in output and "Traceback" not in output


@pytest.mark.parametrize(("args", "named"), [
    (["restore", "--target-database", "x" * 64], "--target-database"),
    (["restore", "--target-database", ""], "--target-database"),
    (["restore", "--target-database", "ok", "--backup-id", "../../other/backups/x"], "--backup-id"),
    (["restore", "--target-database", "ok", "--backup-id", "latest"], "--backup-id"),
])
def test_restore_arguments_are_checked_before_touching_anything(monkeypatch, capsys, args, named):
    for key, setting in UNREACHABLE.items():
        monkeypatch.setenv(key, setting)
    assert job.main(args) == 2
    assert named in capsys.readouterr().out
