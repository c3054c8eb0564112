"""Loopback stand-ins of the local tier: PostgreSQL 15 for CloudNativePG Clusters, moto for an S3 server.

They outlive `wfdeploy up` (PostgreSQL via pg_ctl, moto as a detached
process) and are stopped by `wfdeploy down` from what the tier's state file
records. Both listen on 127.0.0.1 only, on the ports the platform's clients
are configured with (the Services' ports), since pods share the host network.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PG_BIN = Path(os.environ.get("WFP_PG_BIN", "/usr/lib/postgresql/15/bin"))


class StandInError(RuntimeError):
    """A loopback stand-in could not start; the message says which and why."""


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_for_port(port: int, timeout: float, host: str = "127.0.0.1") -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_in_use(port, host):
            return True
        time.sleep(0.1)
    return False


# -- PostgreSQL -------------------------------------------------------------------


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_identifier(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


class LoopbackPostgres:
    """A PostgreSQL 15 cluster in a temp dir, run as the `postgres` user when invoked as root."""

    def __init__(self, root: Path, port: int):
        self.root = root
        self.port = port
        self._as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @property
    def superuser(self) -> str:
        return "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def _run(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run([*self._as_user, *args], capture_output=True, text=True, env=env, timeout=120)
        if result.returncode != 0:
            raise StandInError(f"PostgreSQL stand-in: `{' '.join(args[:2])}` failed: {result.stderr.strip()[-800:]}")
        return result

    @classmethod
    def create(cls, port: int, parameters: dict[str, str]) -> "LoopbackPostgres":
        for binary in ("initdb", "pg_ctl", "psql"):
            if not (PG_BIN / binary).exists():
                raise StandInError(f"{PG_BIN / binary} not found: install the Debian package postgresql-15")
        if port_in_use(port):
            raise StandInError(f"127.0.0.1:{port} is in use; the PostgreSQL stand-in needs the port the stage's clients use")
        server = cls(Path(tempfile.mkdtemp(prefix="wfp-local-pg-")), port)
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(server.root, account.pw_uid, account.pw_gid)
        # the superuser has no password: only its OS user reaches it, over the Unix socket (peer)
        server._run(str(PG_BIN / "initdb"), "-D", str(server.data_dir), "-U", server.superuser,
                    "--auth-host=scram-sha-256", "--auth-local=peer", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        server._self_signed_certificate()
        settings = {"listen_addresses": "127.0.0.1", "port": str(port), "unix_socket_directories": str(server.root),
                    # CloudNativePG always serves TLS and the platform's clients require it (PGSSLMODE=require)
                    "ssl": "on", "ssl_cert_file": str(server.root / "server.crt"),
                    "ssl_key_file": str(server.root / "server.key"), "fsync": "off", **parameters}
        options = " ".join(f"-c {key}={value}" for key, value in settings.items())
        server._run(str(PG_BIN / "pg_ctl"), "-D", str(server.data_dir), "-l", str(server.root / "server.log"),
                    "-o", options, "-w", "-t", "60", "start")
        return server

    def _self_signed_certificate(self) -> None:
        """A throwaway server certificate, as the operator generates one per cluster."""
        if not shutil.which("openssl"):
            raise StandInError("openssl not found: the PostgreSQL stand-in serves TLS like CloudNativePG does")
        self._run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=workflow-db",
                  "-keyout", str(self.root / "server.key"), "-out", str(self.root / "server.crt"))
        (self.root / "server.key").chmod(0o600)

    def psql(self, sql: str, database: str = "postgres") -> str:
        return self._run(str(PG_BIN / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                         "-h", str(self.root), "-p", str(self.port), "-U", self.superuser, "-d", database,
                         "-c", sql).stdout.strip()

    def bootstrap(self, owner: str, password: str, database: str, initdb: dict[str, Any], roles: list[dict[str, Any]]) -> None:
        """What CloudNativePG does for a Cluster: initdb's owner role, database and post-init SQL, then managed roles.

        Nothing beyond the CR is granted: a privilege the platform forgot to declare is missing here too.
        """
        self.psql(f"CREATE ROLE {_sql_identifier(owner)} LOGIN PASSWORD {_sql_literal(password)}")
        for statement in initdb.get("postInitSQL", []):
            self.psql(statement)
        for statement in initdb.get("postInitTemplateSQL", []):
            self.psql(statement, "template1")
        self.psql(f"CREATE DATABASE {_sql_identifier(database)} OWNER {_sql_identifier(owner)}")
        for statement in initdb.get("postInitApplicationSQL", []):
            self.psql(statement, database)
        for role in roles:
            if role.get("ensure", "present") != "present":
                continue
            flags = " ".join(
                flag if role.get(key, default) else f"NO{flag}"
                for flag, key, default in (("LOGIN", "login", False), ("CREATEDB", "createdb", False),
                                           ("CREATEROLE", "createrole", False), ("SUPERUSER", "superuser", False),
                                           ("REPLICATION", "replication", False), ("INHERIT", "inherit", True))
            )
            password_sql = f" PASSWORD {_sql_literal(role['password'])}" if role.get("password") else ""
            exists = self.psql(f"SELECT 1 FROM pg_roles WHERE rolname = {_sql_literal(role['name'])}")
            verb = "ALTER" if exists else "CREATE"
            self.psql(f"{verb} ROLE {_sql_identifier(role['name'])} WITH {flags}{password_sql}")
            for granted in role.get("inRoles", []):
                self.psql(f"GRANT {_sql_identifier(granted)} TO {_sql_identifier(role['name'])}")

    def state(self) -> dict[str, Any]:
        return {"kind": "postgresql", "root": str(self.root), "port": self.port}

    @staticmethod
    def stop(state: dict[str, Any]) -> None:
        root = Path(state["root"])
        as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if (root / "data" / "postmaster.pid").exists():
            subprocess.run([*as_user, str(PG_BIN / "pg_ctl"), "-D", str(root / "data"), "-m", "fast", "-w", "stop"],
                           capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


# -- S3 (moto) -------------------------------------------------------------------


class LoopbackS3:
    """moto's S3-compatible server from the project's virtual environment, detached from this process."""

    def __init__(self, pid: int, port: int, log: Path):
        self.pid, self.port, self.log = pid, port, log

    @classmethod
    def start(cls, port: int, log: Path) -> "LoopbackS3":
        if port_in_use(port):
            raise StandInError(f"127.0.0.1:{port} is in use; the S3 stand-in needs the port of the Service it replaces")
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                # clients reach it as <service>.<namespace>.svc with path-style requests: the host names no bucket
                env={**os.environ, "S3_IGNORE_SUBDOMAIN_BUCKETNAME": "true"},
            )
        if not wait_for_port(port, 30):
            process.kill()
            raise StandInError(f"moto did not listen on 127.0.0.1:{port} within 30 s; see {log}")
        return cls(process.pid, port, log)

    def state(self) -> dict[str, Any]:
        return {"kind": "s3", "pid": self.pid, "port": self.port, "log": str(self.log)}

    @staticmethod
    def stop(state: dict[str, Any]) -> None:
        try:
            os.killpg(state["pid"], signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(state["pid"], 0)
            except ProcessLookupError:
                return
            try:  # reap it when this process started it (tests call up and down in one process)
                os.waitpid(state["pid"], os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.1)
        os.killpg(state["pid"], signal.SIGKILL)


def stop_stand_in(state: dict[str, Any]) -> None:
    {"postgresql": LoopbackPostgres.stop, "s3": LoopbackS3.stop}[state["kind"]](state)
