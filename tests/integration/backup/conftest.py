"""Real PostgreSQL 15 and an S3-compatible server (moto) on 127.0.0.1, and a runner for the real job."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from dataclasses import dataclass

import pytest

from tests.stagehelpers import PROJECT_ROOT
from tests.support.postgres import PostgresServer
from tests.support.s3 import S3Server

BUCKET = "workflow-backups-test"
_names = itertools.count(1)


@pytest.fixture(scope="module")
def postgres(request) -> PostgresServer:
    server = PostgresServer()
    request.addfinalizer(server.stop)
    return server.start()


@pytest.fixture(scope="module")
def s3(request) -> S3Server:
    server = S3Server()
    request.addfinalizer(server.stop)
    server.start()
    server.create_bucket(BUCKET)
    return server


@dataclass
class JobRun:
    code: int
    output: str


@dataclass
class BackupEnv:
    """One test's database and key prefix, and how to run the job against them."""

    postgres: PostgresServer
    s3: S3Server
    database: str
    prefix: str

    def env(self, **overrides: str) -> dict[str, str]:
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PG", "AWS_", "BACKUP_"))},
            **self.postgres.env(self.database),
            **self.s3.env(),
            "BACKUP_BUCKET": BUCKET,
            "BACKUP_PREFIX": self.prefix,
            **overrides,
        }

    def job(self, *args: str, **env_overrides: str) -> JobRun:
        result = subprocess.run(
            [sys.executable, "-m", "components.backup.job", *args],
            cwd=PROJECT_ROOT, env=self.env(**env_overrides), capture_output=True, text=True, timeout=120,
        )
        return JobRun(result.returncode, result.stdout + result.stderr)

    def sql(self, statement: str, database: str | None = None) -> str:
        return self.postgres.psql(statement, database or self.database)

    def latest(self) -> dict | None:
        try:
            body = self.s3.client().get_object(Bucket=BUCKET, Key=f"{self.prefix}latest.json")["Body"].read()
        except self.s3.client().exceptions.NoSuchKey:
            return None
        return json.loads(body)

    def manifest(self, backup_id: str) -> dict:
        key = f"{self.prefix}backups/{backup_id}/manifest.json"
        return json.loads(self.s3.client().get_object(Bucket=BUCKET, Key=key)["Body"].read())


@pytest.fixture
def backup_env(postgres, s3) -> BackupEnv:
    number = next(_names)
    database = f"workflow_{number}"
    postgres.create_database(database)
    return BackupEnv(postgres=postgres, s3=s3, database=database, prefix=f"test-{number}/db/")
