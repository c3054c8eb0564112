"""A throwaway PostgreSQL 15 cluster (Debian package) on 127.0.0.1, created with initdb in a temp dir.

PostgreSQL refuses to run as root, so under root the server runs as the
`postgres` system user in a directory owned by it. Clients connect over TCP
with a password (scram-sha-256), as the backup job does in the cluster.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.ports import free_port

PG_BIN = Path(os.environ.get("TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
SUPERUSER = "postgres"
PASSWORD = "test-only-password"


class PostgresServer:
    """Start with `start()`, always `stop()` (fixtures use a finalizer)."""

    def __init__(self, settings: dict[str, str] | None = None):
        self.port = free_port()
        self.settings = {
            # durability is irrelevant for a throwaway cluster; speed is not
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "40",
            **(settings or {}),
        }
        self.root: Path | None = None
        self._as_user: list[str] = []

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def _run(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run([*self._as_user, *args], check=True, capture_output=True, text=True, **kwargs)

    def start(self) -> "PostgresServer":
        for binary in ("initdb", "pg_ctl", "postgres"):
            if not (PG_BIN / binary).exists():
                raise RuntimeError(f"{PG_BIN / binary} not found: install the Debian package postgresql-15")
        self.root = Path(tempfile.mkdtemp(prefix="wf-pg-"))
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]
        password_file = self.root / "pwfile"
        password_file.write_text(PASSWORD + "\n")
        if self._as_user:
            os.chown(password_file, pwd.getpwnam("postgres").pw_uid, -1)
        self._run(
            str(PG_BIN / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER, f"--pwfile={password_file}",
            "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
        )
        password_file.unlink()
        options = " ".join(f"-c {key}={value}" for key, value in {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.root),
            **self.settings,
        }.items())
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.root / "server.log"),
                  "-o", options, "-w", "-t", "30", "start")
        return self

    def stop(self) -> None:
        if self.root is None:
            return
        if (self.data_dir / "postmaster.pid").exists():
            subprocess.run([*self._as_user, str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate",
                            "-w", "stop"], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def env(self, database: str = "postgres") -> dict[str, str]:
        """libpq variables for a client of this server."""
        return {
            "PGHOST": "127.0.0.1",
            "PGPORT": str(self.port),
            "PGUSER": SUPERUSER,
            "PGPASSWORD": PASSWORD,
            "PGDATABASE": database,
            "PGCONNECT_TIMEOUT": "5",
        }

    def psql(self, sql: str, database: str = "postgres", *, check: bool = True) -> str:
        """Run SQL through psql over TCP; return tuples-only output."""
        result = subprocess.run(
            [str(PG_BIN / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
            env={**os.environ, **self.env(database)}, capture_output=True, text=True,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"psql failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def create_database(self, name: str) -> None:
        self.psql(f'CREATE DATABASE "{name}"')

    def __enter__(self) -> "PostgresServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
