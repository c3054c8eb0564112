"""The backup job's pure parts: manifest round trip and comparison, settings, command line."""

from __future__ import annotations

import io

import pytest

from components.backup.job import commands as job
from components.backup.job.manifest import DatabaseStats, Manifest, TableStats, backup_time, new_backup_id
from components.backup.job.settings import JobSettings, SettingsError
from components.backup.job.store import _read_full


def _stats(**tables) -> DatabaseStats:
    return DatabaseStats(tables={name: TableStats(rows, digest) for name, (rows, digest) in tables.items()},
                         sequences={"public.items_id_seq": 10})


def test_manifest_round_trips_through_json():
    manifest = Manifest(
        backup_id=new_backup_id(), database="workflow", server_version="15.18", pg_dump_version="pg_dump 15.18",
        started_at="2026-11-28T00:00:00+00:00", completed_at="2026-11-28T00:01:00+00:00", dump_key="p/backups/x/dump",
        size=10, sha256="ab" * 32, stats=_stats(**{"public.items": (3, "12")}), duration_seconds=1.5,
    )
    assert Manifest.from_json(manifest.to_json(), "s3://b/k") == manifest


def test_unreadable_manifest_names_the_object():
    with pytest.raises(ValueError, match="s3://b/k"):
        Manifest.from_json("{not json", "s3://b/k")


def test_differences_name_each_table_that_does_not_match():
    want = _stats(**{"public.a": (3, "1"), "public.b": (2, "2"), "public.c": (1, "3")})
    got = _stats(**{"public.a": (2, "1"), "public.b": (2, "9")})
    problems = want.differences(got)
    assert "table public.a: 2 rows restored, manifest says 3" in problems
    assert any(p.startswith("table public.b: content hash") for p in problems)
    assert "table public.c is missing after restore" in problems
    assert want.differences(want) == []


def test_backup_ids_sort_by_time():
    first = new_backup_id()
    assert backup_time(first).tzinfo is not None
    assert sorted(["20261128T230000Z-aaaaaa", "20261128T220000Z-ffffff"])[0].startswith("20261128T22")


def test_settings_require_the_bucket_and_the_database():
    with pytest.raises(SettingsError, match="BACKUP_BUCKET"):
        JobSettings.from_env({"PGHOST": "db", "PGDATABASE": "workflow"})
    settings = JobSettings.from_env({"PGHOST": "db", "PGDATABASE": "workflow", "BACKUP_BUCKET": "backups",
                                     "BACKUP_PREFIX": "x/db"})
    assert settings.prefix == "x/db/" and settings.keep_last >= 1


def test_settings_reject_a_part_size_below_the_s3_minimum():
    with pytest.raises(SettingsError, match="BACKUP_PART_SIZE_MB"):
        JobSettings.from_env({"PGHOST": "db", "PGDATABASE": "w", "BACKUP_BUCKET": "backups", "BACKUP_PART_SIZE_MB": "1"})


def test_missing_settings_exit_with_usage_error(monkeypatch, capsys):
    for name in ("BACKUP_BUCKET", "PGHOST", "PGDATABASE"):
        monkeypatch.delenv(name, raising=False)
    assert job.main(["backup"]) == 2
    assert "BACKUP_BUCKET" in capsys.readouterr().out


def test_read_full_collects_short_pipe_reads():
    class Trickle(io.RawIOBase):
        def __init__(self):
            self.data = b"x" * 10

        def read(self, size=-1):
            step = min(3, size)
            chunk, self.data = self.data[:step], self.data[step:]
            return chunk

    stream = Trickle()
    assert _read_full(stream, 8) == b"x" * 8
    assert _read_full(stream, 8) == b"x" * 2
