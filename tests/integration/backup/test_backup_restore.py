"""The real backup job against PostgreSQL 15 and an S3-compatible server: zero data loss, consistency, failures."""

from __future__ import annotations

import json
import threading
import time

from tests.support.ports import free_port

from .conftest import BUCKET

SCHEMA = r"""
CREATE SCHEMA billing;
CREATE SEQUENCE invoice_numbers START 1000 INCREMENT 7;
CREATE TABLE customers (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email text NOT NULL UNIQUE CHECK (position('@' in email) > 1),
  profile jsonb NOT NULL DEFAULT '{}',
  tags text[],
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE billing.invoices (
  id serial PRIMARY KEY,
  number bigint NOT NULL DEFAULT nextval('invoice_numbers'),
  customer_id bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
  amount numeric(12, 2) NOT NULL CHECK (amount >= 0),
  ratio double precision,
  period daterange,
  note text,
  attachment bytea
);
CREATE INDEX invoices_customer ON billing.invoices (customer_id);
CREATE INDEX invoices_open ON billing.invoices (number) WHERE note IS NULL;
CREATE INDEX customers_lower_email ON customers (lower(email));
CREATE INDEX customers_profile ON customers USING gin (profile);
CREATE TABLE empty_table (id int PRIMARY KEY);
INSERT INTO customers (email, profile, tags)
  SELECT 'user' || i || '@example.com', jsonb_build_object('n', i, 'name', 'Ünïcødé ' || i), ARRAY['a', i::text]
  FROM generate_series(1, 2000) AS i;
INSERT INTO billing.invoices (customer_id, amount, ratio, period, note, attachment)
  SELECT 1 + (i % 2000), i * 1.25, i / 7.0, daterange('2026-01-01'::date + i % 300, '2026-12-31'),
         CASE WHEN i % 3 = 0 THEN NULL ELSE 'note ' || i END, decode(md5(i::text), 'hex')
  FROM generate_series(1, 5000) AS i;
-- large values: a 12 MB text (TOASTed) and a 4 MB bytea
INSERT INTO billing.invoices (customer_id, amount, note, attachment)
  VALUES (1, 1, repeat('large value ', 1000000), decode(repeat(md5('x'), 131072), 'hex'));
SELECT setval('invoice_numbers', 987654, true);
"""

TABLE_DIGEST = "SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {} AS t"
INDEXES = "SELECT string_agg(indexdef, E'\\n' ORDER BY indexdef) FROM pg_indexes WHERE schemaname IN ('public', 'billing')"
CONSTRAINTS = (
    "SELECT string_agg(c, E'\\n' ORDER BY c) FROM (SELECT conrelid::regclass || ' ' || pg_get_constraintdef(oid) AS c "
    "FROM pg_constraint WHERE connamespace::regnamespace::text IN ('public', 'billing')) AS defs"
)
SEQUENCES = (
    "SELECT string_agg(sequencename || '=' || coalesce(last_value::text, 'null'), ',' ORDER BY sequencename) FROM pg_sequences"
)


def _snapshot(env, database=None) -> dict[str, str]:
    tables = ("customers", "billing.invoices", "empty_table")
    result = {table: env.sql(TABLE_DIGEST.format(table), database) for table in tables}
    result.update(indexes=env.sql(INDEXES, database), constraints=env.sql(CONSTRAINTS, database),
                  sequences=env.sql(SEQUENCES, database))
    return result


def test_backup_then_restore_into_new_database_loses_no_data(backup_env):
    backup_env.sql(SCHEMA)
    before = _snapshot(backup_env)

    backup = backup_env.job("backup")
    assert backup.code == 0, backup.output
    restore = backup_env.job("restore", "--target-database", f"{backup_env.database}_restored")
    assert restore.code == 0, restore.output

    after = _snapshot(backup_env, f"{backup_env.database}_restored")
    assert after == before
    assert "987654" in after["sequences"] and "UNIQUE (email)" in after["constraints"]
    # identity and serial sequences continue where the source stopped: new rows do not collide
    backup_env.sql("INSERT INTO customers (email) VALUES ('new@example.com')", f"{backup_env.database}_restored")
    manifest = backup_env.manifest(backup_env.latest()["backupId"])
    assert manifest["stats"]["tables"]["billing.invoices"]["rows"] == 5001
    assert manifest["server_version"].startswith("15")
    assert len(manifest["sha256"]) == 64 and manifest["size"] > 0


def test_restore_drill_passes_and_records_the_restore_duration(backup_env):
    backup_env.sql("CREATE TABLE events (id bigserial PRIMARY KEY, body text); "
                   "INSERT INTO events (body) SELECT repeat('e', 100) FROM generate_series(1, 1000)")
    assert backup_env.job("backup").code == 0
    drill = backup_env.job("restore-drill")
    assert drill.code == 0, drill.output
    assert "restore drill passed" in drill.output and "restore_seconds" in drill.output
    keys = [o["Key"] for o in backup_env.s3.client().list_objects_v2(Bucket=BUCKET, Prefix=f"{backup_env.prefix}drills/")["Contents"]]
    assert len(keys) == 1
    scratch = backup_env.sql("SELECT count(*) FROM pg_database WHERE datname LIKE 'wf_restore_drill_%'")
    assert scratch == "0", "the drill drops its scratch database"


def test_writes_during_backup_restore_to_a_consistent_snapshot(backup_env):
    # invariant: money only moves between accounts, and every transfer writes one ledger row
    backup_env.sql(
        "CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL);"
        "CREATE TABLE ledger (id bigserial PRIMARY KEY, account int, delta bigint, padding text);"
        "INSERT INTO accounts SELECT i, 1000 FROM generate_series(1, 100) AS i;"
        "INSERT INTO ledger (account, delta, padding) SELECT 1, 0, repeat(md5(i::text), 20) FROM generate_series(1, 100000) AS i;"
        "CREATE TABLE filler AS SELECT i, repeat(md5(i::text), 8) AS data FROM generate_series(1, 100000) AS i;"
    )
    stop = threading.Event()
    transfers = []

    def write_transfers() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            a, b = n % 100 + 1, (n * 7) % 100 + 1
            backup_env.sql(
                "BEGIN;"
                f"UPDATE accounts SET balance = balance - 5 WHERE id = {a};"
                f"UPDATE accounts SET balance = balance + 5 WHERE id = {b};"
                f"INSERT INTO ledger (account, delta) VALUES ({a}, -5), ({b}, 5);"
                "COMMIT;"
            )
            transfers.append(n)

    writer = threading.Thread(target=write_transfers)
    writer.start()
    try:
        time.sleep(0.3)
        started_with = len(transfers)
        backup = backup_env.job("backup")
    finally:
        stop.set()
        writer.join()
    assert backup.code == 0, backup.output
    assert len(transfers) > started_with, "the writer kept committing while the backup ran"

    drill = backup_env.job("restore-drill")
    assert drill.code == 0, drill.output  # manifest counts and hashes match the restored data exactly
    target = f"{backup_env.database}_snapshot"
    assert backup_env.job("restore", "--target-database", target).code == 0
    assert backup_env.sql("SELECT sum(balance) FROM accounts", target) == "100000"
    assert backup_env.sql("SELECT sum(delta) FROM ledger", target) == "0"
    ledger_rows = int(backup_env.sql("SELECT count(*) FROM ledger WHERE delta <> 0", target))
    assert ledger_rows % 2 == 0 and ledger_rows <= 2 * len(transfers)


def _corrupt(env, change) -> str:
    backup_id = env.latest()["backupId"]
    key = f"{env.prefix}backups/{backup_id}/dump.pgcustom"
    client = env.s3.client()
    body = client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    client.put_object(Bucket=BUCKET, Key=key, Body=change(body))
    return f"s3://{BUCKET}/{key}"


def _small_database(env) -> None:
    env.sql("CREATE TABLE items (id serial PRIMARY KEY, body text); "
            "INSERT INTO items (body) SELECT md5(i::text) FROM generate_series(1, 20000) AS i")
    assert env.job("backup").code == 0


def test_restore_drill_fails_naming_a_corrupted_object(backup_env):
    _small_database(backup_env)
    url = _corrupt(backup_env, lambda body: body[: len(body) // 2] + bytes(b ^ 0xFF for b in body[len(body) // 2: len(body) // 2 + 64]) + body[len(body) // 2 + 64:])
    drill = backup_env.job("restore-drill")
    assert drill.code != 0
    assert url in drill.output and "corrupted" in drill.output


def test_restore_drill_fails_naming_a_truncated_object(backup_env):
    _small_database(backup_env)
    url = _corrupt(backup_env, lambda body: body[: len(body) - 1000])
    drill = backup_env.job("restore-drill")
    assert drill.code != 0
    assert url in drill.output and "truncated" in drill.output


def test_unreachable_object_store_exits_non_zero_without_a_new_latest(backup_env):
    _small_database(backup_env)
    latest = backup_env.latest()
    run = backup_env.job("backup", AWS_ENDPOINT_URL_S3=f"http://127.0.0.1:{free_port()}")
    assert run.code != 0
    assert "object store unreachable" in run.output
    assert backup_env.latest() == latest


def test_unreachable_database_exits_non_zero_without_a_new_latest(backup_env):
    _small_database(backup_env)
    latest = backup_env.latest()
    run = backup_env.job("backup", PGPORT=str(free_port()))
    assert run.code != 0
    assert "database unreachable" in run.output
    assert backup_env.latest() == latest
    uploads = backup_env.s3.client().list_multipart_uploads(Bucket=BUCKET, Prefix=backup_env.prefix)
    assert not uploads.get("Uploads"), "no partial upload is left behind"


def test_failure_while_writing_the_manifest_keeps_the_previous_latest(backup_env):
    _small_database(backup_env)
    latest = backup_env.latest()
    # the dump itself succeeds (pg_dump resets statement_timeout); the row-count and hash query times out
    run = backup_env.job("backup", PGOPTIONS="-c statement_timeout=1")
    assert run.code != 0
    assert backup_env.latest() == latest
    client = backup_env.s3.client()
    backups = client.list_objects_v2(Bucket=BUCKET, Prefix=f"{backup_env.prefix}backups/")["Contents"]
    assert len(backups) == 2, "only the first backup's dump and manifest: the failed upload was aborted"
    assert not client.list_multipart_uploads(Bucket=BUCKET, Prefix=backup_env.prefix).get("Uploads")


def test_restore_refuses_a_database_that_already_has_tables(backup_env):
    _small_database(backup_env)
    run = backup_env.job("restore", "--target-database", backup_env.database)
    assert run.code != 0
    assert "already has 1 table(s)" in run.output


def test_restore_a_chosen_backup_by_id(backup_env):
    _small_database(backup_env)
    first = backup_env.latest()["backupId"]
    backup_env.sql("INSERT INTO items (body) VALUES ('after the first backup')")
    assert backup_env.job("backup").code == 0
    assert backup_env.latest()["backupId"] != first
    target = f"{backup_env.database}_first"
    assert backup_env.job("restore", "--target-database", target, "--backup-id", first).code == 0
    assert backup_env.sql("SELECT count(*) FROM items", target) == "20000"


def test_restore_drill_fails_when_restored_rows_differ_from_the_manifest(backup_env):
    _small_database(backup_env)
    backup_id = backup_env.latest()["backupId"]
    manifest = backup_env.manifest(backup_id)
    manifest["stats"]["tables"]["public.items"]["rows"] += 1
    key = f"{backup_env.prefix}backups/{backup_id}/manifest.json"
    backup_env.s3.client().put_object(Bucket=BUCKET, Key=key, Body=json.dumps(manifest).encode())

    drill = backup_env.job("restore-drill")
    assert drill.code != 0
    assert "table public.items: 20000 rows restored, manifest says 20001" in drill.output
    client = backup_env.s3.client()
    (record,) = client.list_objects_v2(Bucket=BUCKET, Prefix=f"{backup_env.prefix}drills/")["Contents"]
    result = json.loads(client.get_object(Bucket=BUCKET, Key=record["Key"])["Body"].read())
    assert result["ok"] is False and "public.items" in result["error"]


def test_drill_restores_as_the_database_owner_when_the_database_has_a_superuser_only_extension(backup_env):
    # as on CloudNativePG: the operator (a superuser) creates pg_stat_statements, the jobs run as the app owner
    owner = f"owner_{backup_env.database}"
    backup_env.sql(f"CREATE ROLE {owner} LOGIN CREATEDB PASSWORD 'owner-pass'")
    backup_env.sql(f'ALTER DATABASE "{backup_env.database}" OWNER TO {owner}')
    backup_env.sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    backup_env.sql(f"SET ROLE {owner}; CREATE TABLE runs (id bigserial PRIMARY KEY, state text); "
                   "INSERT INTO runs (state) SELECT 'done' FROM generate_series(1, 500)")
    as_owner = {"PGUSER": owner, "PGPASSWORD": "owner-pass"}
    assert backup_env.job("backup", **as_owner).code == 0
    drill = backup_env.job("restore-drill", **as_owner)
    assert drill.code == 0, drill.output
    assert "restore drill passed" in drill.output
