"""The data tier's generated configuration, run by the real servers on 127.0.0.1.

Redis runs the rendered redis.conf and start script (primary and a replica),
PostgreSQL 15 runs the rendered postgresql.conf parameters with
pg_stat_statements preloaded, as CloudNativePG would pass them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from components.data.postgres import STATEMENT_QUERIES, base_parameters
from components.data.redis import PORT, RUNTIME_DIR, START_SCRIPT, redis_conf
from tests.stagehelpers import load_stage_with
from tests.support.ports import free_port
from tests.support.postgres import PostgresServer, wait_until

PASSWORD = "integration-test-cache-password"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"


class RedisPod:
    """One pod of the StatefulSet: the rendered files with the pod's paths moved under a temp dir."""

    def __init__(self, ordinal: int, settings, primary_port: int | None = None):
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix=f"wf-redis-{ordinal}-"))
        for folder in ("data", "run", "etc"):
            (self.root / folder).mkdir()
        conf = redis_conf(settings)
        # loopback only in tests; the pod binds all interfaces behind its NetworkPolicy
        conf = conf.replace("bind * -::*", "bind 127.0.0.1").replace(f"port {PORT}", f"port {self.port}")
        conf = conf.replace("dir /data", f"dir {self.root / 'data'}").replace(RUNTIME_DIR, str(self.root / "run"))
        (self.root / "etc" / "redis.conf").write_text(conf)
        script = START_SCRIPT.format(run=self.root / "run", port=primary_port or PORT)
        script = script.replace("/etc/redis/redis.conf", str(self.root / "etc" / "redis.conf"))
        script = script.replace("exec redis-server", f"exec {REDIS_SERVER}")
        (self.root / "etc" / "start.sh").write_text(script)
        self.env = {
            "PATH": os.environ["PATH"],
            "HOSTNAME": f"workflow-cache-{ordinal}",
            "REDIS_PASSWORD": PASSWORD,
            "PRIMARY_HOST": "127.0.0.1",
        }
        self.process: subprocess.Popen | None = None

    def start(self) -> "RedisPod":
        if not Path(REDIS_SERVER).exists():
            raise RuntimeError("redis-server not found: install the Debian package redis-server")
        self.process = subprocess.Popen(
            ["sh", str(self.root / "etc" / "start.sh")], env=self.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        assert wait_until(lambda: self.cli("PING", auth=True) == "PONG", timeout=10), "redis did not start"
        return self

    def cli(self, *args: str, auth: bool = False) -> str:
        env = {"PATH": os.environ["PATH"], **({"REDISCLI_AUTH": PASSWORD} if auth else {})}
        result = subprocess.run([REDIS_CLI, "-h", "127.0.0.1", "-p", str(self.port), *args],
                                env=env, capture_output=True, text=True, timeout=5)
        return (result.stdout + result.stderr).strip()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def redis_pair(request):
    settings = load_stage_with("production").config.data.redis
    primary = RedisPod(0, settings)
    request.addfinalizer(primary.stop)
    primary.start()
    replica = RedisPod(1, settings, primary_port=primary.port)
    request.addfinalizer(replica.stop)
    replica.start()
    return primary, replica


def test_redis_cache_config_runs_as_a_password_protected_lru_cache_with_a_replica(redis_pair):
    primary, replica = redis_pair
    settings = load_stage_with("production").config.data.redis

    assert "NOAUTH" in primary.cli("PING")
    assert primary.cli("CONFIG", "GET", "maxmemory-policy", auth=True).splitlines()[-1] == "allkeys-lru"
    assert int(primary.cli("CONFIG", "GET", "maxmemory", auth=True).splitlines()[-1]) == 1536 * 2**20
    assert settings.maxmemory == "1536Mi"
    assert "unknown command" in primary.cli("FLUSHALL", auth=True).lower()
    # the password is read from a file, never visible in the process list
    cmdline = Path(f"/proc/{primary.process.pid}/cmdline").read_bytes()
    assert PASSWORD.encode() not in cmdline

    assert primary.cli("SET", "workflow:1", "cached", auth=True) == "OK"
    assert wait_until(lambda: replica.cli("GET", "workflow:1", auth=True) == "cached", timeout=10)
    assert "master_link_status:up" in replica.cli("INFO", "replication", auth=True)
    assert "READONLY" in replica.cli("SET", "x", "y", auth=True)


@pytest.fixture
def postgres_with_cluster_parameters(request):
    settings = load_stage_with("staging").config.data.postgres
    parameters = {**base_parameters(settings), **settings.parameters}
    # the throwaway server cannot take a production-sized buffer pool on a CI runner
    parameters["shared_buffers"] = "32MB"
    parameters["max_connections"] = "40"
    server = PostgresServer({"shared_preload_libraries": "pg_stat_statements", **parameters})
    request.addfinalizer(server.stop)
    return server.start()


def test_postgres_runs_with_pg_stat_statements_and_the_exporter_query(postgres_with_cluster_parameters):
    server = postgres_with_cluster_parameters
    server.create_database("workflow")
    server.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", "workflow")
    assert server.psql("SHOW pg_stat_statements.track", "workflow") == "all"
    assert server.psql("SHOW log_min_duration_statement", "workflow") == "250ms"
    server.psql("CREATE TABLE runs (id serial PRIMARY KEY, state text); INSERT INTO runs (state) VALUES ('done')", "workflow")
    for _ in range(3):
        server.psql("SELECT count(*) FROM runs WHERE state = 'done'", "workflow")
    calls = server.psql(
        "SELECT sum(calls) FROM pg_stat_statements WHERE query LIKE 'SELECT count(*) FROM runs%'", "workflow"
    )
    assert int(calls) >= 3
    # the exporter's custom query must run as written against the real view
    row = server.psql(STATEMENT_QUERIES["pg_stat_statements"]["query"], "workflow")
    calls_total, exec_seconds, max_mean = row.split("|")
    assert float(calls_total) >= 3 and float(exec_seconds) >= 0 and float(max_mean) >= 0
