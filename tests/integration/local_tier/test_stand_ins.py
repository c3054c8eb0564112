"""The local tier's PostgreSQL stand-in does what CloudNativePG does for the Cluster CR, and nothing more."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.support.ports import free_port
from wfdeploy.local.data import PG_BIN, LoopbackPostgres

pytestmark = pytest.mark.integration

INITDB = {"owner": "workflow", "database": "workflow",
          "postInitTemplateSQL": ["CREATE TABLE template_marker (id int)"],
          "postInitApplicationSQL": ["CREATE TABLE bootstrap_marker (id int)"]}


@pytest.fixture
def postgres():
    server = LoopbackPostgres.create(free_port(), {"max_connections": "20"})
    yield server
    LoopbackPostgres.stop(server.state())
    assert not server.root.exists()


def _connect_as(server: LoopbackPostgres, user: str, password: str, sql: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": str(server.port), "PGUSER": user,
           "PGPASSWORD": password, "PGDATABASE": "workflow", "PGSSLMODE": "require"}
    return subprocess.run([str(PG_BIN / "psql"), "-X", "-A", "-t", "-c", sql], env=env, capture_output=True, text=True)


def test_owner_gets_its_database_over_tls_and_no_privilege_the_cr_does_not_declare(postgres):
    postgres.bootstrap("workflow", "owner-pass-1", "workflow", INITDB, roles=[])
    result = _connect_as(postgres, "workflow", "owner-pass-1",
                         "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid(); SELECT count(*) FROM pg_tables WHERE tablename = 'bootstrap_marker';"
                         "SELECT rolcreatedb FROM pg_roles WHERE rolname = current_user")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["t", "1", "f"]
    assert _connect_as(postgres, "workflow", "wrong", "SELECT 1").returncode != 0


def test_managed_roles_alter_the_owner_as_declared(postgres):
    roles = [{"name": "workflow", "ensure": "present", "login": True, "createdb": True, "password": "owner-pass-2"},
             {"name": "reporting", "login": True, "password": "reporting-pass"}]
    postgres.bootstrap("workflow", "owner-pass-1", "workflow", INITDB, roles=roles)
    owner = _connect_as(postgres, "workflow", "owner-pass-2", "SELECT rolcreatedb FROM pg_roles WHERE rolname = current_user")
    assert owner.stdout.strip() == "t", owner.stderr
    assert _connect_as(postgres, "reporting", "reporting-pass", "SELECT 1").stdout.strip() == "1"


def test_databases_created_later_inherit_the_template_sql(postgres):
    roles = [{"name": "workflow", "login": True, "createdb": True, "password": "owner-pass"}]
    postgres.bootstrap("workflow", "owner-pass", "workflow", INITDB, roles=roles)
    assert _connect_as(postgres, "workflow", "owner-pass", "CREATE DATABASE scratch").returncode == 0
    assert postgres.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'template_marker'", "scratch") == "1"
