"""Benchmark: the backup job against raw pg_dump -Fc / pg_restore on the same generated database.

Run: .venv/bin/python benchmarks/backup_restore.py [--rows 1000000]

Starts a throwaway PostgreSQL 15 cluster and an S3-compatible server (moto) on
127.0.0.1, generates about 1 M rows / 200 MB, then times, in the same run:
  raw     pg_dump -Fc to local disk, pg_restore from local disk
  job     `python -m components.backup.job backup` (dump streamed to S3 + manifest),
          `restore` into a new database (streamed back, checksum + per-table verification),
          `restore-drill` (the scheduled proof: scratch database, verify, drop)
and prints times, throughput ratios (raw time / job time; goal ≥ 0.8) and the
restore time, which is the measured RTO for a database of this size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.postgres import PG_BIN, PostgresServer  # noqa: E402
from tests.support.s3 import S3Server  # noqa: E402

BUCKET = "workflow-backups-benchmark"


def generate(server: PostgresServer, database: str, rows: int) -> None:
    server.psql(
        f"""
        CREATE TABLE accounts (id int PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL);
        INSERT INTO accounts SELECT i, 'account ' || i, now() - i * interval '1 minute' FROM generate_series(1, 10000) i;
        CREATE TABLE events (
          id bigserial PRIMARY KEY,
          account_id int NOT NULL REFERENCES accounts (id),
          kind text NOT NULL,
          payload jsonb NOT NULL,
          body text NOT NULL,
          created_at timestamptz NOT NULL
        );
        INSERT INTO events (account_id, kind, payload, body, created_at)
          SELECT 1 + i % 10000, (ARRAY['created','started','finished','failed'])[1 + i % 4],
                 jsonb_build_object('step', i % 17, 'attempt', i % 3, 'ref', md5(i::text)),
                 md5(i::text) || ' ' || md5((i * 7)::text),
                 now() - i * interval '1 second'
          FROM generate_series(1, {rows}) i;
        CREATE INDEX events_account ON events (account_id, created_at);
        """,
        database,
    )
    server.psql("VACUUM ANALYZE", database)


def timed(args: list[str], env: dict[str, str], log: dict | None = None) -> float:
    """Wall-clock seconds of one command; the job's JSON log fields land in `log` when given."""
    started = time.monotonic()
    result = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    if log is not None:
        for line in result.stdout.splitlines():
            if line.startswith("{"):
                log.update(json.loads(line))
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2, help="repetitions; the best time per step counts")
    options = parser.parse_args()

    with PostgresServer() as server, S3Server() as s3, tempfile.TemporaryDirectory() as scratch:
        s3.create_bucket(BUCKET)
        server.create_database("workflow")
        print(f"generating {options.rows} rows …", flush=True)
        generate(server, "workflow", options.rows)
        size = int(server.psql("SELECT pg_database_size('workflow')", "workflow"))
        rows = int(server.psql("SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM accounts)", "workflow"))
        base = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "AWS_", "BACKUP_"))}
        pg_env = {**base, **server.env("workflow"), "PATH": f"{PG_BIN}:{base.get('PATH', '')}"}
        job_env = {**pg_env, **s3.env(), "BACKUP_BUCKET": BUCKET, "BACKUP_PREFIX": "benchmark/db/",
                   "BACKUP_PG_BIN": str(PG_BIN)}
        job = [sys.executable, "-m", "components.backup.job"]
        archive = Path(scratch) / "raw.dump"

        best: dict[str, float] = {}

        def keep_best(step: str, seconds: float) -> None:
            best[step] = min(seconds, best.get(step, seconds))

        # alternate raw and job runs and keep each step's best: other load on the machine hits both alike
        for round_number in range(1, options.rounds + 1):
            print(f"round {round_number}/{options.rounds} …", flush=True)
            keep_best("raw_dump", timed([str(PG_BIN / "pg_dump"), "-Fc", "-f", str(archive)], pg_env))
            keep_best("job_backup", timed([*job, "backup", "--no-prune"], job_env))
            server.create_database(f"raw_restore_{round_number}")
            keep_best("raw_restore", timed(
                [str(PG_BIN / "pg_restore"), "--no-owner", "-d", f"raw_restore_{round_number}", str(archive)], pg_env))
            restore_log: dict = {}
            seconds = timed([*job, "restore", "--target-database", f"job_restore_{round_number}"], job_env, restore_log)
            if seconds < best.get("job_restore", float("inf")):
                best["job_restore_stream"] = restore_log.get("backup.restore_seconds", float("nan"))
            keep_best("job_restore", seconds)
            keep_best("job_drill", timed([*job, "restore-drill"], job_env))
            for name in (f"raw_restore_{round_number}", f"job_restore_{round_number}"):
                server.psql(f"DROP DATABASE {name}")
        raw_dump, job_backup, raw_restore, job_restore, job_drill = (
            best[k] for k in ("raw_dump", "job_backup", "raw_restore", "job_restore", "job_drill"))

        dump_size = archive.stat().st_size
        mb = 1024 * 1024
        print()
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; best of {options.rounds} rounds")
        print(f"database: {rows} rows, {size / mb:.0f} MB on disk; archive {dump_size / mb:.0f} MB (pg_dump -Fc)")
        print(f"{'step':<34}{'seconds':>9}{'MB/s (db size)':>16}")
        for name, seconds in (
            ("raw pg_dump -Fc → local disk", raw_dump),
            ("job backup → S3 (+ manifest)", job_backup),
            ("raw pg_restore ← local disk", raw_restore),
            ("job restore ← S3 (+ verify)", job_restore),
            ("job restore-drill (scratch db)", job_drill),
        ):
            print(f"{name:<34}{seconds:>9.2f}{size / mb / seconds:>16.1f}")
        print()
        print(f"backup throughput ratio  (raw / job): {raw_dump / job_backup:.2f}   goal ≥ 0.80")
        print(f"restore throughput ratio (raw / job): {raw_restore / job_restore:.2f}   goal ≥ 0.80")
        print(f"job restore breakdown: {best['job_restore_stream']:.2f} s download + pg_restore (streamed), "
              f"{job_restore - best['job_restore_stream']:.2f} s start-up and verification of every table")
        print(f"measured RTO for {size / mb:.0f} MB (job restore incl. verification): {job_restore:.1f} s")


if __name__ == "__main__":
    main()
