"""Documents the job reads back from the store (manifest, latest pointer) are checked field by field."""

from __future__ import annotations

import copy
import json

import pytest

from components.backup.job.manifest import (
    DatabaseStats,
    DocumentError,
    LatestPointer,
    Manifest,
    TableStats,
    dump_key,
    manifest_key,
)

PREFIX = "workflow-platform/db/"
BACKUP_ID = "20261128T230000Z-1a2b3c"
URL = f"s3://backups/{manifest_key(PREFIX, BACKUP_ID)}"
POINTER_URL = f"s3://backups/{PREFIX}latest.json"


def valid_manifest() -> dict:
    return json.loads(Manifest(
        backup_id=BACKUP_ID, database="workflow", server_version="15.18", pg_dump_version="pg_dump 15.18",
        started_at="2026-11-28T23:00:00+00:00", completed_at="2026-11-28T23:01:00+00:00",
        dump_key=dump_key(PREFIX, BACKUP_ID), size=1234, sha256="ab" * 32,
        stats=DatabaseStats(tables={"public.items": TableStats(20000, "-123456789")},
                            sequences={"public.items_id_seq": 20000, "public.unused": None}),
        duration_seconds=1.5,
    ).to_json())


def valid_pointer() -> dict:
    return LatestPointer(BACKUP_ID, manifest_key(PREFIX, BACKUP_ID), "2026-11-28T23:01:00+00:00").to_json()


def _set(path: str, value):
    """A change of the field at `path` (keys joined by '/': table names hold dots)."""

    def change(document: dict) -> dict:
        document = copy.deepcopy(document)
        *parents, last = path.split("/")
        target = document
        for key in parents:
            target = target[key]
        target[last] = value
        return document
    return change


def _drop(path: str):
    def change(document: dict) -> dict:
        document = copy.deepcopy(document)
        *parents, last = path.split("/")
        target = document
        for key in parents:
            target = target[key]
        del target[last]
        return document
    return change


#: (case, change of the valid manifest, field the error must name)
MANIFEST_MUTATIONS = [
    ("tables is a list", _set("stats/tables", [{"rows": 1}]), "stats.tables"),
    ("tables is null", _set("stats/tables", None), "stats.tables"),
    ("stats is a string", _set("stats", "none"), "stats"),
    ("sequences is a list", _set("stats/sequences", []), "stats.sequences"),
    ("rows as text", _set("stats/tables/public.items", {"rows": "20000", "hash": "1"}), "rows"),
    ("table entry is a number", _set("stats/tables/public.items", 5), "stats.tables"),
    ("negative rows", _set("stats/tables/public.items", {"rows": -1, "hash": "1"}), "rows"),
    ("hash is a number", _set("stats/tables/public.items", {"rows": 1, "hash": 1}), "hash"),
    ("sequence position as text", _set("stats/sequences/public.items_id_seq", "5"), "stats.sequences"),
    ("size as text", _set("size", "1234"), "size"),
    ("size as boolean", _set("size", True), "size"),
    ("size zero", _set("size", 0), "size"),
    ("size as float", _set("size", 12.5), "size"),
    ("sha256 upper case", _set("sha256", "AB" * 32), "sha256"),
    ("sha256 short", _set("sha256", "ab" * 31), "sha256"),
    ("sha256 a list", _set("sha256", ["ab"]), "sha256"),
    ("dump key elsewhere", _set("dump_key", "other-prefix/backups/x/dump.pgcustom"), "dump_key"),
    ("backup id of another backup", _set("backup_id", "20261128T220000Z-ffffff"), "backup_id"),
    ("newer format", _set("format_version", 2), "format_version"),
    ("format as text", _set("format_version", "1"), "format_version"),
    ("duration negative", _set("duration_seconds", -1), "duration_seconds"),
    ("timestamp free text", _set("completed_at", "yesterday"), "completed_at"),
    ("database too long", _set("database", "x" * 64), "database"),
    ("extra a list", _set("extra", []), "extra"),
    ("huge table name", _set("stats/tables", {"x" * 5000: {"rows": 1, "hash": "1"}}), "stats.tables"),
] + [(f"missing {key}", _drop(key), key.replace("/", ".")) for key in (
    "backup_id", "database", "server_version", "pg_dump_version", "started_at", "completed_at", "dump_key", "size",
    "sha256", "stats", "duration_seconds", "format_version", "stats/tables", "stats/sequences",
)]

#: (case, raw text) that is not a JSON object at all
MANIFEST_TEXTS = [
    ("empty", ""),
    ("a list", "[]"),
    ("a string", '"manifest"'),
    ("null", "null"),
    ("truncated", json.dumps(valid_manifest())[:100]),
    ("NaN size", json.dumps(valid_manifest()).replace('"size": 1234', '"size": NaN')),
    ("duplicate key", json.dumps(valid_manifest())[:-1] + ', "size": 1}'),
    ("deeply nested", "[" * 100000 + "]" * 100000),
]


@pytest.mark.parametrize(("case", "change", "field"), MANIFEST_MUTATIONS, ids=[m[0] for m in MANIFEST_MUTATIONS])
def test_a_mutated_manifest_is_refused_naming_the_object_and_the_field(case, change, field):
    with pytest.raises(DocumentError) as raised:
        Manifest.from_json(json.dumps(change(valid_manifest())), URL, PREFIX, BACKUP_ID)
    message = str(raised.value)
    assert URL in message and field.split(".")[-1] in message, message


@pytest.mark.parametrize(("case", "text"), MANIFEST_TEXTS, ids=[m[0] for m in MANIFEST_TEXTS])
def test_a_manifest_that_is_not_a_json_object_is_refused_naming_the_object(case, text):
    with pytest.raises(DocumentError, match=URL.replace(".", r"\.")):
        Manifest.from_json(text, URL, PREFIX, BACKUP_ID)


def test_the_valid_manifest_reads_back_and_unknown_fields_of_a_newer_job_are_ignored():
    document = {**valid_manifest(), "compression": "zstd"}
    manifest = Manifest.from_json(json.dumps(document), URL, PREFIX, BACKUP_ID)
    assert manifest.stats.tables["public.items"] == TableStats(20000, "-123456789")
    assert manifest.stats.sequences == {"public.items_id_seq": 20000, "public.unused": None}


POINTER_TEXTS = [
    ("empty object", "{}"),
    ("a list", "[]"),
    ("a list of the pointer", json.dumps([valid_pointer()])),
    ("a number", "7"),
    ("not JSON", "latest"),
    ("id with path parts", json.dumps({**valid_pointer(), "backupId": "../../../other/backups/x"})),
    ("id as number", json.dumps({**valid_pointer(), "backupId": 20261128})),
    ("manifest key elsewhere", json.dumps({**valid_pointer(), "manifestKey": "other/backups/x/manifest.json"})),
    ("missing manifest key", json.dumps({k: v for k, v in valid_pointer().items() if k != "manifestKey"})),
    ("completedAt a list", json.dumps({**valid_pointer(), "completedAt": []})),
    ("duplicate backupId", json.dumps(valid_pointer())[:-1] + ', "backupId": "20261128T220000Z-ffffff"}'),
]


@pytest.mark.parametrize(("case", "text"), POINTER_TEXTS, ids=[p[0] for p in POINTER_TEXTS])
def test_a_bad_latest_pointer_is_refused_naming_the_object(case, text):
    with pytest.raises(DocumentError, match=POINTER_URL.replace(".", r"\.")):
        LatestPointer.from_json(text, POINTER_URL, PREFIX)


def test_the_valid_pointer_reads_back():
    pointer = LatestPointer.from_json(json.dumps(valid_pointer()), POINTER_URL, PREFIX)
    assert pointer.backup_id == BACKUP_ID and pointer.manifest_key == manifest_key(PREFIX, BACKUP_ID)
