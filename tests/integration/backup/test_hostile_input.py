"""Careless and hostile input to the real job (PostgreSQL 15, moto on 127.0.0.1): refused cleanly, nothing half-done.

Surface "backup objects": mutated manifests, pointers and dumps must end in a non-zero exit that names the
object, without a traceback, and change nothing in any database or in the bucket.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.stagehelpers import PROJECT_ROOT
from tests.support.postgres import wait_until

from .conftest import BUCKET


def _small_database(env) -> str:
    env.sql("CREATE TABLE items (id serial PRIMARY KEY, body text); "
            "INSERT INTO items (body) SELECT md5(i::text) FROM generate_series(1, 20000) AS i")
    backup = env.job("backup")
    assert backup.code == 0, backup.output
    return env.latest()["backupId"]


def _databases(env) -> list[str]:
    return env.sql("SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database").split(",")


def _objects(env, database: str) -> str:
    """Every relation, function and type a restore could have left behind."""
    return env.sql(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'", database)


def _bucket(env) -> dict[str, str]:
    client = env.s3.client()
    listing = client.list_objects_v2(Bucket=BUCKET, Prefix=env.prefix).get("Contents", [])
    return {item["Key"]: item["ETag"] for item in listing}


def _put(env, key: str, body: bytes) -> str:
    env.s3.client().put_object(Bucket=BUCKET, Key=key, Body=body)
    return f"s3://{BUCKET}/{key}"


def _get(env, key: str) -> bytes:
    return env.s3.client().get_object(Bucket=BUCKET, Key=key)["Body"].read()


def _flip_64_bytes(body: bytes) -> bytes:
    middle = len(body) // 2
    return body[:middle] + bytes(b ^ 0xFF for b in body[middle:middle + 64]) + body[middle + 64:]


# -- item 9: database names are names -----------------------------------------------------------


@pytest.mark.parametrize("target", ["dbname=spare", "my spare db", "o'brien \"db\" \\ x", "host=127.0.0.1 dbname=spare"])
def test_restore_target_names_are_never_read_as_connection_strings(backup_env, target):
    _small_database(backup_env)
    if "spare" not in _databases(backup_env):
        backup_env.postgres.create_database("spare")
    spare_before = _objects(backup_env, "spare")

    run = backup_env.job("restore", "--target-database", target)

    assert run.code == 0, run.output
    assert target in _databases(backup_env)
    # the test's psql passes the name in PGDATABASE, which libpq never expands
    assert backup_env.sql("SELECT count(*) FROM items", target) == "20000"
    assert _objects(backup_env, "spare") == spare_before, "the database a connection string would name is untouched"


# -- item 10: verified before anything executes; a failed restore leaves the target as it was ------------


def test_a_corrupted_dump_executes_nothing_and_the_restore_works_once_the_object_is_repaired(backup_env):
    backup_id = _small_database(backup_env)
    key = f"{backup_env.prefix}backups/{backup_id}/dump.pgcustom"
    original = _get(backup_env, key)
    url = _put(backup_env, key, _flip_64_bytes(original))
    for target, existing in ((f"{backup_env.database}_new", False), (f"{backup_env.database}_empty", True)):
        if existing:
            backup_env.postgres.create_database(target)
        run = backup_env.job("restore", "--target-database", target)
        assert run.code == 1 and url in run.output and "corrupted" in run.output, run.output
        if existing:
            assert _objects(backup_env, target) == "0", "nothing of the archive ran in the target"
        else:
            assert target not in _databases(backup_env), "the database this run created is gone again"

    _put(backup_env, key, original)
    for target in (f"{backup_env.database}_new", f"{backup_env.database}_empty"):
        run = backup_env.job("restore", "--target-database", target)
        assert run.code == 0, run.output
        assert backup_env.sql("SELECT count(*) FROM items", target) == "20000"


def test_a_target_holding_only_a_sequence_is_refused_and_left_as_it_was(backup_env):
    _small_database(backup_env)
    target = f"{backup_env.database}_sequence_only"
    backup_env.postgres.create_database(target)
    backup_env.sql("CREATE SEQUENCE leftover START 42", target)

    run = backup_env.job("restore", "--target-database", target)

    assert run.code == 1 and "sequence public.leftover" in run.output and "Traceback" not in run.output, run.output
    assert _objects(backup_env, target) == "1"
    assert backup_env.sql("SELECT last_value FROM leftover", target) == "42"


@pytest.mark.parametrize("kind", ["view", "function", "type", "schema"])
def test_a_target_holding_any_object_is_refused(backup_env, kind):
    _small_database(backup_env)
    target = f"{backup_env.database}_{kind}"
    backup_env.postgres.create_database(target)
    backup_env.sql({
        "view": "CREATE VIEW v AS SELECT 1 AS one",
        "function": "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "type": "CREATE TYPE mood AS ENUM ('ok')",
        "schema": "CREATE SCHEMA billing",
    }[kind], target)
    run = backup_env.job("restore", "--target-database", target)
    assert run.code == 1 and "restore only into an empty database" in run.output, run.output
    assert backup_env.sql("SELECT to_regclass('public.items') IS NULL", target) == "t"


def test_a_target_with_only_extension_objects_counts_as_empty(backup_env):
    # as on CloudNativePG: the operator creates the extensions before the restore
    _small_database(backup_env)
    target = f"{backup_env.database}_prepared"
    backup_env.postgres.create_database(target)
    backup_env.sql("CREATE EXTENSION pg_stat_statements", target)
    run = backup_env.job("restore", "--target-database", target)
    assert run.code == 0, run.output
    assert backup_env.sql("SELECT count(*) FROM items", target) == "20000"


def test_a_failing_pg_restore_rolls_back_everything_it_ran(backup_env):
    # citext is an extension, and restores skip extensions: the target lacks the type, so pg_restore stops
    # after it created the tables that come before the one using it
    backup_env.sql("CREATE TABLE aaa_first (id int); INSERT INTO aaa_first VALUES (1); "
                   "CREATE EXTENSION citext; CREATE TABLE zzz_uses_citext (name citext)")
    assert backup_env.job("backup").code == 0
    target = f"{backup_env.database}_rollback"
    backup_env.postgres.create_database(target)

    run = backup_env.job("restore", "--target-database", target)

    assert run.code == 1 and "citext" in run.output and "nothing was committed" in run.output, run.output
    assert _objects(backup_env, target) == "0"


def test_a_restore_that_differs_from_its_manifest_is_not_committed(backup_env):
    backup_id = _small_database(backup_env)
    key = f"{backup_env.prefix}backups/{backup_id}/manifest.json"
    manifest = json.loads(_get(backup_env, key))
    manifest["stats"]["tables"]["public.items"]["rows"] += 1
    _put(backup_env, key, json.dumps(manifest).encode())
    target = f"{backup_env.database}_differs"
    backup_env.postgres.create_database(target)

    run = backup_env.job("restore", "--target-database", target)

    assert run.code == 1 and "20000 rows restored, manifest says 20001" in run.output, run.output
    assert _objects(backup_env, target) == "0"


# -- item 11 + the surface test: every object read from the store is checked -------------------------


def _manifest_key(env, backup_id):
    return f"{env.prefix}backups/{backup_id}/manifest.json"


def _latest_key(env, backup_id):
    return f"{env.prefix}latest.json"


def _dump_key(env, backup_id):
    return f"{env.prefix}backups/{backup_id}/dump.pgcustom"


def _json_change(change):
    def mutate(body: bytes) -> bytes:
        return json.dumps(change(json.loads(body))).encode()
    return mutate


#: (case, which object, how its stored bytes change)
OBJECT_MUTATIONS = [
    ("manifest tables is a list", _manifest_key, _json_change(lambda m: {**m, "stats": {**m["stats"], "tables": []}})),
    ("manifest without stats", _manifest_key, _json_change(lambda m: {k: v for k, v in m.items() if k != "stats"})),
    ("manifest size as text", _manifest_key, _json_change(lambda m: {**m, "size": str(m["size"])})),
    ("manifest is a list", _manifest_key, lambda body: b"[" + body + b"]"),
    ("manifest not UTF-8", _manifest_key, lambda body: body.replace(b'"database"', b'"dat\xffbase"')),
    ("manifest truncated", _manifest_key, lambda body: body[: len(body) // 2]),
    ("manifest dump key elsewhere", _manifest_key,
     _json_change(lambda m: {**m, "dump_key": m["dump_key"].replace("backups/", "elsewhere/")})),
    ("manifest of 40 MB", _manifest_key, lambda body: body[:-2] + b', "padding": "' + b"x" * (40 << 20) + b'"}'),
    ("latest is empty object", _latest_key, lambda body: b"{}"),
    ("latest is a list", _latest_key, lambda body: b"[" + body + b"]"),
    ("latest is empty", _latest_key, lambda body: b""),
    ("latest id with path parts", _latest_key, _json_change(lambda p: {**p, "backupId": "../../../x"})),
    ("latest with NUL bytes", _latest_key, lambda body: body + b"\0\0"),
    ("dump with 64 flipped bytes", _dump_key, _flip_64_bytes),
    ("dump truncated", _dump_key, lambda body: body[:-1000]),
    ("dump empty", _dump_key, lambda body: b""),
    ("dump replaced by SQL", _dump_key, lambda body: b"DROP TABLE items;\n" * (len(body) // 18 + 1)),
]


@pytest.mark.parametrize("command", ["restore", "restore-drill"])
@pytest.mark.parametrize(("case", "where", "change"), OBJECT_MUTATIONS, ids=[m[0] for m in OBJECT_MUTATIONS])
def test_a_mutated_backup_object_is_refused_naming_it_and_changes_nothing(backup_env, command, case, where, change):
    backup_id = _small_database(backup_env)
    key = where(backup_env, backup_id)
    url = _put(backup_env, key, change(_get(backup_env, key)))
    bucket_before, databases_before = _bucket(backup_env), _databases(backup_env)
    source_before = backup_env.sql("SELECT count(*) || md5(string_agg(body, ',' ORDER BY id)) FROM items")

    args = ["restore", "--target-database", f"{backup_env.database}_target"] if command == "restore" else [command]
    run = backup_env.job(*args)

    assert run.code == 1, run.output
    assert url in run.output, run.output
    assert "Traceback" not in run.output, run.output
    assert _databases(backup_env) == databases_before, "no database created, none left behind"
    assert backup_env.sql("SELECT count(*) || md5(string_agg(body, ',' ORDER BY id)) FROM items") == source_before
    after = _bucket(backup_env)
    drills = [k for k in after if k not in bucket_before]
    assert {k: after[k] for k in bucket_before} == bucket_before, "no stored object changed"
    assert all("/drills/" in k for k in drills) and len(drills) <= (command == "restore-drill")


# -- item 13: concurrent drills ------------------------------------------------------------------


def test_two_restore_drills_at_once_both_pass_and_leave_no_scratch_database(backup_env):
    _small_database(backup_env)
    command = [sys.executable, "-m", "components.backup.job", "restore-drill"]
    drills = [subprocess.Popen(command, cwd=PROJECT_ROOT, env=backup_env.env(), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [drill.communicate(timeout=180)[0] for drill in drills]
    assert [drill.returncode for drill in drills] == [0, 0], outputs
    scratch = [json.loads(line)["backup.scratch_database"] for output in outputs for line in output.splitlines()
               if "restore drill passed" in line]
    assert len(set(scratch)) == 2, "each drill restores into a database of its own"
    assert backup_env.sql("SELECT count(*) FROM pg_database WHERE datname LIKE 'wf_restore_drill_%'") == "0"


def test_a_restore_killed_while_copying_leaves_the_target_empty(backup_env):
    backup_env.sql("CREATE TABLE events (id bigserial PRIMARY KEY, body text); "
                   "INSERT INTO events (body) SELECT repeat(md5(i::text), 8) FROM generate_series(1, 400000) AS i")
    assert backup_env.job("backup").code == 0
    target = f"{backup_env.database}_killed"
    backup_env.postgres.create_database(target)
    job = subprocess.Popen([sys.executable, "-m", "components.backup.job", "restore", "--target-database", target],
                           cwd=PROJECT_ROOT, env=backup_env.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        copying = f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{target}' AND query LIKE 'COPY%'"
        assert wait_until(lambda: backup_env.sql(copying) != "0", timeout=60), "the restore reached its COPY"
    finally:
        job.kill()  # no chance to clean up: psql and pg_restore lose their pipes
        job.wait()
    connected = f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{target}'"
    assert wait_until(lambda: backup_env.sql(connected) == "0", timeout=30)
    assert _objects(backup_env, target) == "0", "the half-done restore was rolled back"
