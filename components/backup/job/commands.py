"""The backup job: `python -m components.backup.job backup|restore-drill|restore`.

Configured by the libpq variables (PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE)
and BACKUP_BUCKET, BACKUP_PREFIX, AWS_REGION, AWS_ENDPOINT_URL_S3 (optional:
BACKUP_RETENTION_DAYS, BACKUP_KEEP_LAST, BACKUP_CREATE_BUCKET, BACKUP_PG_BIN,
BACKUP_PART_SIZE_MB). Exits 0 only when the work is complete and verified;
1 when it failed (the message names the object or the service), 2 on bad usage.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import secrets
import tempfile
import threading
import time

from . import pg
from .manifest import (
    DocumentError,
    LatestPointer,
    Manifest,
    backup_time,
    backups_prefix,
    drill_key,
    dump_key,
    is_backup_id,
    latest_key,
    manifest_key,
    new_backup_id,
    utc_now,
)
from .settings import JobSettings, SettingsError, check_database_name
from .store import ObjectStore, StoreError


class JobFailed(Exception):
    """The job could not complete; the message is what an operator needs to read."""


def log(level: str, message: str, **fields) -> None:
    """One ECS-style JSON line on stdout, as every platform workload logs."""
    record = {"@timestamp": utc_now(), "log.level": level, "message": message, "service.name": "workflow-db-backup"}
    record.update({f"backup.{key}": value for key, value in fields.items()})
    print(json.dumps(record, sort_keys=True, default=str), flush=True)


# -- backup --------------------------------------------------------------------


def run_backup(settings: JobSettings, store: ObjectStore) -> Manifest:
    """Dump PGDATABASE in one snapshot, upload it, write its manifest, then move `latest` to it."""
    store.check_reachable(settings.prefix, create=settings.create_bucket)
    backup_id = new_backup_id()
    started, started_at = time.monotonic(), utc_now()
    key = dump_key(settings.prefix, backup_id)
    try:
        session = pg.PsqlSession(settings.pg_bin)
    except pg.DatabaseError as error:
        raise JobFailed(f"database unreachable: {error}") from None
    with session:
        try:
            version = pg.server_version(session)
            # the manifest's statistics and the dump read the very same snapshot
            snapshot = session.run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT pg_export_snapshot();")
        except pg.DatabaseError as error:
            raise JobFailed(f"database unreachable: {error}") from None
        dump = pg.dump_process(settings.pg_bin, snapshot)
        stats_result: dict = {}
        stats_thread = threading.Thread(target=_collect_stats_into, args=(session, stats_result), daemon=True)
        stats_thread.start()
        stderr_lines: list[bytes] = []
        stderr_thread = threading.Thread(target=lambda: stderr_lines.extend(dump.stderr), daemon=True)
        stderr_thread.start()

        def stats_complete() -> None:
            stats_thread.join()
            if "error" in stats_result:
                raise JobFailed(f"database: collecting row counts and hashes failed: {stats_result['error']}")

        try:
            size, sha256 = store.upload_stream(
                key, _checked_dump_output(dump, stderr_lines, stderr_thread), settings.part_size,
                before_complete=stats_complete,
            )
        except BaseException:
            dump.kill()
            dump.wait()
            raise
        session.run("COMMIT;")
    remote_size = int(store.head(key)["ContentLength"])
    if remote_size != size:
        raise JobFailed(f"backup object {store.url(key)} has {remote_size} bytes after upload, sent {size}")
    manifest = Manifest(
        backup_id=backup_id,
        database=settings.database,
        server_version=version,
        pg_dump_version=pg.client_version(settings.pg_bin, "pg_dump"),
        started_at=started_at,
        completed_at=utc_now(),
        dump_key=key,
        size=size,
        sha256=sha256,
        stats=stats_result["stats"],
        duration_seconds=round(time.monotonic() - started, 3),
    )
    store.put_json(manifest_key(settings.prefix, backup_id), manifest.to_json())
    # only now, with dump and manifest complete, does the backup become visible as the latest
    store.put_json(
        latest_key(settings.prefix),
        LatestPointer(backup_id, manifest_key(settings.prefix, backup_id), manifest.completed_at).to_json(),
    )
    log("info", "backup complete", id=backup_id, object=store.url(key), size=size, sha256=sha256,
        tables=len(manifest.stats.tables), duration_seconds=manifest.duration_seconds)
    return manifest


def _collect_stats_into(session: pg.PsqlSession, result: dict) -> None:
    try:
        result["stats"] = pg.collect_stats(session)
    except pg.DatabaseError as error:
        result["error"] = str(error)


class _checked_dump_output:
    """pg_dump's stdout; at its end, raises if pg_dump failed so the upload is aborted, never completed."""

    def __init__(self, process, stderr_lines: list[bytes], stderr_thread: threading.Thread):
        self._process, self._stderr, self._stderr_thread = process, stderr_lines, stderr_thread

    def read(self, size: int) -> bytes:
        chunk = self._process.stdout.read(size)
        if not chunk:
            code = self._process.wait()
            self._stderr_thread.join()
            if code != 0:
                message = b"".join(self._stderr).decode(errors="replace")
                raise JobFailed(f"pg_dump failed (exit {code}): {pg._first_line(message)}")
        return chunk


# -- prune ---------------------------------------------------------------------


def prune(settings: JobSettings, store: ObjectStore, now: datetime.datetime | None = None) -> list[str]:
    """Delete backups older than the retention, keeping the newest `keep_last` and anything still locked."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    latest = _latest_pointer(settings, store, required=False)
    ids = sorted(
        (entry[len(backups_prefix(settings.prefix)):].rstrip("/") for entry in store.child_prefixes(backups_prefix(settings.prefix))),
        reverse=True,
    )
    pruned = []
    for backup_id in ids[settings.keep_last:]:
        if not is_backup_id(backup_id):
            continue  # not ours
        created = backup_time(backup_id)
        if (latest and backup_id == latest.backup_id) or now - created < datetime.timedelta(days=settings.retention_days):
            continue
        keys = store.keys(f"{backups_prefix(settings.prefix)}{backup_id}/")
        locked = {key: until for key in keys if (until := store.locked_until(key)) and until > now}
        if locked:
            log("info", "backup kept: still under Object Lock", id=backup_id, locked_until=max(locked.values()))
            continue
        # the manifest goes first: a dump without a manifest is never taken for a complete backup
        for key in sorted(keys, key=lambda k: not k.endswith("manifest.json")):
            store.delete(key)
        pruned.append(backup_id)
        log("info", "backup pruned", id=backup_id)
    return pruned


# -- restore -------------------------------------------------------------------


#: Largest documents the job reads back: the pointer is a few lines; a manifest lists every table (≈ 100 B each).
MAX_POINTER_BYTES = 64 * 1024
MAX_MANIFEST_BYTES = 32 * 1024 * 1024


def _latest_pointer(settings: JobSettings, store: ObjectStore, required: bool = True) -> LatestPointer | None:
    key = latest_key(settings.prefix)
    if not store.exists(key):
        if required:
            raise JobFailed(f"no backup found: {store.url(key)} does not exist")
        return None
    try:
        return LatestPointer.from_json(store.get_text(key, MAX_POINTER_BYTES), store.url(key), settings.prefix)
    except DocumentError as error:
        raise JobFailed(str(error)) from None


def load_manifest(settings: JobSettings, store: ObjectStore, backup_id: str | None) -> Manifest:
    if backup_id is None:
        backup_id = _latest_pointer(settings, store).backup_id
    key = manifest_key(settings.prefix, backup_id)
    if not store.exists(key):
        raise JobFailed(f"backup {backup_id} has no manifest at {store.url(key)} (incomplete or pruned)")
    try:
        return Manifest.from_json(store.get_text(key, MAX_MANIFEST_BYTES), store.url(key), settings.prefix, backup_id)
    except DocumentError as error:
        raise JobFailed(str(error)) from None


def verify_object(store: ObjectStore, manifest: Manifest) -> str:
    """Read the whole backup object and check its size and sha256 against the manifest; return the ETag checked.

    Runs before any byte reaches pg_restore; the restore then reads that very version (If-Match).
    """
    url = store.url(manifest.dump_key)
    head = store.head(manifest.dump_key)
    remote_size = int(head["ContentLength"])
    if remote_size != manifest.size:
        raise JobFailed(f"backup object {url} is truncated or altered: {remote_size} bytes, manifest says {manifest.size}")
    digest, size = hashlib.sha256(), 0
    for chunk in store.stream(manifest.dump_key, if_match=head["ETag"]):
        digest.update(chunk)
        size += len(chunk)
    if size != manifest.size:
        raise JobFailed(f"backup object {url} is truncated: read {size} bytes, manifest says {manifest.size}")
    if digest.hexdigest() != manifest.sha256:
        raise JobFailed(f"backup object {url} is corrupted: sha256 {digest.hexdigest()}, manifest says {manifest.sha256}")
    return head["ETag"]


def restore_into(settings: JobSettings, store: ObjectStore, manifest: Manifest, database: str,
                 *, keep_privileges: bool) -> float:
    """Verify the object, then restore and compare every table in one transaction. Returns seconds.

    The transaction commits only when `database` was empty, pg_restore succeeded and the restored
    tables equal the manifest: any failure leaves `database` as it was.
    """
    url = store.url(manifest.dump_key)
    started = time.monotonic()  # the RTO includes reading the object for its verification
    etag = verify_object(store, manifest)
    try:
        entries = pg.restore_list(settings.pg_bin, store.stream(manifest.dump_key, if_match=etag))
    except RuntimeError as error:
        raise JobFailed(f"backup object {url} is not a readable pg_dump archive: {error}") from None
    with tempfile.NamedTemporaryFile("w", prefix="restore-list-", suffix=".txt") as list_file, \
            pg.PsqlSession(settings.pg_bin, database) as session:
        list_file.write(entries)
        list_file.flush()
        session.run("BEGIN;")
        count, tables, first = pg.user_objects(session)
        if count:
            raise JobFailed(f"target database {database!r} already has {tables} table(s) and {count - tables} other "
                            f"object(s) ({', '.join(first)}{', …' if count > len(first) else ''}); "
                            "restore only into an empty database")
        try:
            size, sha256 = pg.restore_in_session(session, settings.pg_bin, store.stream(manifest.dump_key, if_match=etag),
                                                 keep_privileges=keep_privileges, list_file=list_file.name)
        except pg.DatabaseError as error:
            raise JobFailed(f"pg_restore of {url} into {database!r} failed, nothing was committed: {error}") from None
        if (size, sha256) != (manifest.size, manifest.sha256):
            raise JobFailed(f"backup object {url} changed while it was restored; nothing was committed")
        seconds = time.monotonic() - started
        session.run(pg.SESSION_SETTINGS)  # the script set its own search_path and output settings
        restored = pg.collect_stats(session)
        behind = pg.sequences_behind_data(session)
        differences = manifest.stats.differences(restored) + [f"sequence {item}" for item in behind]
        if differences:
            raise JobFailed(
                f"restored {url} into {database!r} differs from its manifest, nothing was committed: "
                + "; ".join(differences[:20])
                + (f" (and {len(differences) - 20} more)" if len(differences) > 20 else "")
            )
        session.run("COMMIT;")
    return seconds


def scratch_database_name(backup_id: str) -> str:
    """A drill's own scratch database: the backup it restores plus a random part, so two drills never share one."""
    return f"wf_restore_drill_{backup_id.replace('-', '_').lower()}_{secrets.token_hex(4)}"


def run_restore_drill(settings: JobSettings, store: ObjectStore, keep_scratch: bool = False) -> dict:
    """Restore the latest backup into a scratch database, verify it against the manifest, record the result."""
    store.check_reachable(settings.prefix)
    manifest = load_manifest(settings, store, None)
    scratch = scratch_database_name(manifest.backup_id)
    admin = _admin_session(settings)
    drill_id = new_backup_id()
    result = {"drillId": drill_id, "backupId": manifest.backup_id, "object": store.url(manifest.dump_key),
              "scratchDatabase": scratch, "startedAt": utc_now()}
    created = False
    try:
        admin.run(f"CREATE DATABASE {pg.quote_ident(scratch)};")
        created = True
        seconds = restore_into(settings, store, manifest, scratch, keep_privileges=False)
        result.update(ok=True, restoreSeconds=round(seconds, 3), tables=len(manifest.stats.tables),
                      rows=sum(t.rows for t in manifest.stats.tables.values()))
    except (JobFailed, pg.DatabaseError, StoreError) as error:
        result.update(ok=False, error=str(error))
        raise JobFailed(str(error)) from None
    finally:
        result["finishedAt"] = utc_now()
        if created and not keep_scratch:
            try:
                admin.run(f"DROP DATABASE IF EXISTS {pg.quote_ident(scratch)} WITH (FORCE);")
            except pg.DatabaseError as error:
                log("warning", "could not drop the scratch database", database=scratch, error=str(error))
        admin.close()
        try:
            store.put_json(drill_key(settings.prefix, drill_id), result)
        except StoreError as error:
            log("warning", "could not record the drill result", error=str(error))
    log("info", "restore drill passed", id=manifest.backup_id, object=result["object"], scratch_database=scratch,
        restore_seconds=result["restoreSeconds"], tables=result["tables"], rows=result["rows"])
    return result


def run_restore(settings: JobSettings, store: ObjectStore, target: str, backup_id: str | None) -> float:
    """Restore a backup (latest unless named) into `target`, created if absent; refuses a database that is not empty.

    A target this run created is dropped again when the restore fails, so a failure leaves no trace.
    """
    store.check_reachable(settings.prefix)
    manifest = load_manifest(settings, store, backup_id)
    with _admin_session(settings) as admin:
        created = not pg.database_exists(admin, target)
        if created:
            admin.run(f"CREATE DATABASE {pg.quote_ident(target)};")
        try:
            seconds = restore_into(settings, store, manifest, target, keep_privileges=True)
        except BaseException:
            if created:
                try:
                    admin.run(f"DROP DATABASE IF EXISTS {pg.quote_ident(target)} WITH (FORCE);")
                except pg.DatabaseError as error:
                    log("warning", "could not drop the database this restore created", database=target,
                        error=str(error))
            raise
    log("info", "restore complete", id=manifest.backup_id, object=store.url(manifest.dump_key), database=target,
        restore_seconds=round(seconds, 3))
    return seconds


def _admin_session(settings: JobSettings) -> pg.PsqlSession:
    try:
        return pg.PsqlSession(settings.pg_bin)
    except pg.DatabaseError as error:
        raise JobFailed(f"database unreachable: {error}") from None


# -- command line ----------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m components.backup.job", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    backup = commands.add_parser("backup", help="dump the database to the object store, then prune old backups")
    backup.add_argument("--no-prune", action="store_true", help="skip pruning after the backup")
    drill = commands.add_parser("restore-drill", help="restore the latest backup into a scratch database and verify it")
    drill.add_argument("--keep-scratch", action="store_true", help="leave the scratch database for inspection")
    restore = commands.add_parser("restore", help="restore a backup into a named (new or empty) database")
    restore.add_argument("--target-database", required=True, help="database to restore into")
    restore.add_argument("--backup-id", help="backup to restore (default: the latest); see `list`")
    commands.add_parser("list", help="list the stored backups, newest first")
    return parser.parse_args(argv)


def run_list(settings: JobSettings, store: ObjectStore) -> None:
    store.check_reachable(settings.prefix)
    pointer = _latest_pointer(settings, store, required=False)
    latest = pointer.backup_id if pointer else None
    for entry in sorted(store.child_prefixes(backups_prefix(settings.prefix)), reverse=True):
        backup_id = entry[len(backups_prefix(settings.prefix)):].rstrip("/")
        complete = store.exists(manifest_key(settings.prefix, backup_id))
        marker = "\tlatest" if backup_id == latest else ""
        print(f"{backup_id}\t{'complete' if complete else 'incomplete'}{marker}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = JobSettings.from_env()
        if args.command == "restore":
            check_database_name(args.target_database, "--target-database")
            if args.backup_id is not None and not is_backup_id(args.backup_id):
                raise SettingsError(f"--backup-id must be a backup id like 20261128T230000Z-1a2b3c (see `list`), "
                                    f"got {args.backup_id[:80]!r}")
    except SettingsError as error:
        log("error", f"{args.command}: {error}")
        return 2
    os.environ.setdefault("PGCONNECT_TIMEOUT", "10")
    store = ObjectStore(settings.bucket)
    try:
        if args.command == "backup":
            run_backup(settings, store)
            if not args.no_prune:
                prune(settings, store)
        elif args.command == "restore-drill":
            run_restore_drill(settings, store, keep_scratch=args.keep_scratch)
        elif args.command == "restore":
            run_restore(settings, store, args.target_database, args.backup_id)
        else:
            run_list(settings, store)
    except (JobFailed, StoreError, pg.DatabaseError) as error:
        log("error", f"{args.command} failed: {error}")
        return 1
    return 0

