"""Pruning against an Object Lock bucket: old backups go, the newest and anything still locked stay."""

from __future__ import annotations

import datetime
import json

from components.backup.job import commands as job
from components.backup.job.manifest import LatestPointer, dump_key, manifest_key
from components.backup.job.settings import JobSettings
from components.backup.job.store import ObjectStore

LOCKED_BUCKET = "workflow-backups-locked"
NOW = datetime.datetime(2026, 11, 28, 12, 0, tzinfo=datetime.timezone.utc)


def _settings(prefix: str, retention_days: int, keep_last: int) -> JobSettings:
    return JobSettings(bucket=LOCKED_BUCKET, prefix=prefix, database="workflow", retention_days=retention_days,
                       keep_last=keep_last, create_bucket=False, pg_bin="", part_size=5 * 1024 * 1024)


def _put_backup(client, prefix: str, backup_id: str, locked_until: datetime.datetime | None) -> None:
    for key in (dump_key(prefix, backup_id), manifest_key(prefix, backup_id)):
        extra = {}
        if locked_until:
            extra = {"ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": locked_until}
        client.put_object(Bucket=LOCKED_BUCKET, Key=key, Body=b"x", **extra)


def _ids(client, prefix: str) -> set[str]:
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=LOCKED_BUCKET, Prefix=f"{prefix}backups/").get("Contents", [])]
    return {key.split("/")[-2] for key in keys}


def test_prune_deletes_expired_backups_but_never_a_locked_one_or_the_newest(s3):
    s3.create_bucket(LOCKED_BUCKET, object_lock=True)
    client = s3.client()
    prefix = "prune/db/"
    old_unlocked = "20261001T000000Z-aaaaaa"
    old_locked = "20261002T000000Z-bbbbbb"
    recent = "20261125T000000Z-cccccc"
    newest_a, newest_b = "20261127T000000Z-dddddd", "20261128T000000Z-eeeeee"
    _put_backup(client, prefix, old_unlocked, None)
    _put_backup(client, prefix, old_locked, NOW + datetime.timedelta(days=3))
    for backup_id in (recent, newest_a, newest_b):
        _put_backup(client, prefix, backup_id, None)
    pointer = LatestPointer(newest_b, manifest_key(prefix, newest_b), "2026-11-28T00:00:00+00:00")
    client.put_object(Bucket=LOCKED_BUCKET, Key=f"{prefix}latest.json", Body=json.dumps(pointer.to_json()).encode())

    store = ObjectStore(LOCKED_BUCKET, client=client)
    pruned = job.prune(_settings(prefix, retention_days=7, keep_last=2), store, now=NOW)

    assert pruned == [old_unlocked]
    assert _ids(client, prefix) == {old_locked, recent, newest_a, newest_b}


def test_prune_keeps_the_newest_backups_even_when_all_are_past_retention(s3):
    client = s3.client()
    s3.create_bucket("workflow-backups-old")
    prefix = "old/db/"
    ids = ["20250101T000000Z-000001", "20250102T000000Z-000002", "20250103T000000Z-000003"]
    for backup_id in ids:
        for key in (dump_key(prefix, backup_id), manifest_key(prefix, backup_id)):
            client.put_object(Bucket="workflow-backups-old", Key=key, Body=b"x")
    settings = JobSettings(bucket="workflow-backups-old", prefix=prefix, database="workflow", retention_days=1,
                           keep_last=2, create_bucket=False, pg_bin="", part_size=5 * 1024 * 1024)
    pruned = job.prune(settings, ObjectStore("workflow-backups-old", client=client), now=NOW)
    assert pruned == [ids[0]]
