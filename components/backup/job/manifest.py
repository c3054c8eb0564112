"""The manifest stored beside every backup, and where backup objects live in the bucket.

Layout under the prefix:
  backups/<id>/dump.pgcustom   pg_dump custom-format archive
  backups/<id>/manifest.json   written after the dump upload completed
  latest.json                  pointer to the newest complete backup, written last
  drills/<id>.json             restore-drill results
"""

from __future__ import annotations

import datetime
import json
import re
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

FORMAT_VERSION = 1
ID_TIME_FORMAT = "%Y%m%dT%H%M%SZ"


def new_backup_id(now: datetime.datetime | None = None) -> str:
    """A sortable id: UTC start time plus a random suffix, so two runs never collide."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return f"{now.strftime(ID_TIME_FORMAT)}-{secrets.token_hex(3)}"


def backup_time(backup_id: str) -> datetime.datetime:
    return datetime.datetime.strptime(backup_id.split("-")[0], ID_TIME_FORMAT).replace(tzinfo=datetime.timezone.utc)


def backups_prefix(prefix: str) -> str:
    return f"{prefix}backups/"


def dump_key(prefix: str, backup_id: str) -> str:
    return f"{backups_prefix(prefix)}{backup_id}/dump.pgcustom"


def manifest_key(prefix: str, backup_id: str) -> str:
    return f"{backups_prefix(prefix)}{backup_id}/manifest.json"


def latest_key(prefix: str) -> str:
    return f"{prefix}latest.json"


def drill_key(prefix: str, drill_id: str) -> str:
    return f"{prefix}drills/{drill_id}.json"


@dataclass(frozen=True)
class TableStats:
    rows: int
    hash: str


@dataclass(frozen=True)
class DatabaseStats:
    """Row counts and order-independent content hashes per table, and sequence positions."""

    tables: dict[str, TableStats]
    sequences: dict[str, int | None]

    def differences(self, other: "DatabaseStats") -> list[str]:
        """What differs from `other` (the restored side), one sentence per table or sequence."""
        problems = []
        for name in sorted(set(self.tables) | set(other.tables)):
            want, got = self.tables.get(name), other.tables.get(name)
            if want is None:
                problems.append(f"table {name} is not in the manifest")
            elif got is None:
                problems.append(f"table {name} is missing after restore")
            elif want.rows != got.rows:
                problems.append(f"table {name}: {got.rows} rows restored, manifest says {want.rows}")
            elif want.hash != got.hash:
                problems.append(f"table {name}: content hash {got.hash} differs from manifest {want.hash}")
        # sequence positions are not transactional (pg_dump reads them at its own moment), so only their
        # presence is compared here; `pg.sequences_behind_data` checks they never hand out a used value
        for name in sorted(set(self.sequences) - set(other.sequences)):
            problems.append(f"sequence {name} is missing after restore")
        for name in sorted(set(other.sequences) - set(self.sequences)):
            problems.append(f"sequence {name} is not in the manifest")
        return problems


class DocumentError(ValueError):
    """An object read from the store does not have the form this job writes; names the object and the field."""


def parse_document(text: str, where: str, what: str) -> dict[str, Any]:
    """Strict JSON (no duplicate keys, no NaN) whose top level is an object."""

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in pairs]
        if len(set(keys)) != len(keys):
            raise DocumentError(f"{what} {where} is invalid: duplicate key {sorted(k for k in keys if keys.count(k) > 1)[0]!r}")
        return dict(pairs)

    def no_constant(name: str) -> Any:
        raise DocumentError(f"{what} {where} is invalid: {name} is not a JSON number")

    try:
        data = json.loads(text, object_pairs_hook=unique, parse_constant=no_constant)
    except RecursionError:
        raise DocumentError(f"{what} {where} is invalid: nested too deeply") from None
    except DocumentError:
        raise
    except ValueError as error:
        raise DocumentError(f"{what} {where} is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise DocumentError(f"{what} {where} is invalid: expected a JSON object, got {_kind(data)}")
    return data


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null",
             int: "an integer", float: "a number"}
    return names.get(type(value), type(value).__name__)


class _Reader:
    """Field access that raises DocumentError naming the object, the field path and what was expected."""

    def __init__(self, what: str, where: str):
        self.what, self.where = what, where

    def fail(self, path: str, expected: str, value: Any = None, *, got: str | None = None) -> DocumentError:
        return DocumentError(f"{self.what} {self.where} is invalid: `{path}` must be {expected}, "
                             f"got {got or _kind(value)}")

    def field(self, data: dict[str, Any], path: str, key: str) -> Any:
        if key not in data:
            raise DocumentError(f"{self.what} {self.where} is invalid: `{path}` is missing")
        return data[key]

    def string(self, data: dict[str, Any], path: str, key: str, pattern: str | None = None,
               expected: str = "a string", max_length: int = 1024) -> str:
        value = self.field(data, path, key)
        if not isinstance(value, str) or len(value) > max_length or (pattern and not re.fullmatch(pattern, value)):
            raise self.fail(path, expected, value, got=(f"{value[:80]!r}" if isinstance(value, str) else None))
        return value

    def integer(self, value: Any, path: str, minimum: int = 0) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise self.fail(path, f"an integer ≥ {minimum}", value, got=(repr(value) if isinstance(value, int) else None))
        return value

    def mapping(self, value: Any, path: str, expected: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, expected, value)
        return value


#: `<UTC start>-<6 hex>`, as new_backup_id makes it; ids become object keys, so nothing else is accepted.
BACKUP_ID_PATTERN = r"[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}"
SHA256_PATTERN = r"[0-9a-f]{64}"
#: a timestamp as utc_now writes it
TIMESTAMP_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(\+00:00|Z)"
#: the sum of signed 64-bit hashes, as text
HASH_PATTERN = r"-?[0-9]{1,40}"
MAX_TABLE_NAME = 300


def is_backup_id(value: str) -> bool:
    return re.fullmatch(BACKUP_ID_PATTERN, value) is not None


@dataclass(frozen=True)
class LatestPointer:
    """latest.json: the newest complete backup."""

    backup_id: str
    manifest_key: str
    completed_at: str

    def to_json(self) -> dict[str, str]:
        return {"backupId": self.backup_id, "manifestKey": self.manifest_key, "completedAt": self.completed_at}

    @classmethod
    def from_json(cls, text: str, where: str, prefix: str) -> "LatestPointer":
        data = parse_document(text, where, "latest pointer")
        r = _Reader("latest pointer", where)
        backup_id = r.string(data, "backupId", "backupId", BACKUP_ID_PATTERN, "a backup id like 20261128T230000Z-1a2b3c")
        expected_key = manifest_key(prefix, backup_id)
        r.string(data, "manifestKey", "manifestKey", re.escape(expected_key), f"{expected_key!r}")
        completed_at = r.string(data, "completedAt", "completedAt", TIMESTAMP_PATTERN, "an ISO 8601 UTC timestamp")
        return cls(backup_id=backup_id, manifest_key=expected_key, completed_at=completed_at)


@dataclass(frozen=True)
class Manifest:
    backup_id: str
    database: str
    server_version: str
    pg_dump_version: str
    started_at: str
    completed_at: str
    dump_key: str
    size: int
    sha256: str
    stats: DatabaseStats
    duration_seconds: float
    format_version: int = FORMAT_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, where: str, prefix: str | None = None, backup_id: str | None = None) -> "Manifest":
        """Read and check a manifest; with `prefix` and `backup_id`, its id and dump key must be the expected ones.

        Unknown top-level fields are ignored (a newer job may add some); a newer `format_version` is refused.
        """
        data = parse_document(text, where, "manifest")
        r = _Reader("manifest", where)
        version = r.integer(r.field(data, "format_version", "format_version"), "format_version", 1)
        if version != FORMAT_VERSION:
            raise r.fail("format_version", f"{FORMAT_VERSION} (this job's format; a newer job wrote it)", got=str(version))
        found_id = r.string(data, "backup_id", "backup_id", BACKUP_ID_PATTERN if backup_id is None else re.escape(backup_id),
                            "a backup id" if backup_id is None else f"{backup_id!r} (the backup it is stored under)")
        expected_dump = dump_key(prefix, found_id) if prefix is not None else None
        dump = r.string(data, "dump_key", "dump_key", None if expected_dump is None else re.escape(expected_dump),
                        "a key" if expected_dump is None else f"{expected_dump!r}")
        size = r.integer(r.field(data, "size", "size"), "size", 1)
        duration = r.field(data, "duration_seconds", "duration_seconds")
        if not isinstance(duration, (int, float)) or isinstance(duration, bool) or duration < 0:
            raise r.fail("duration_seconds", "a number ≥ 0", duration)
        extra = r.mapping(data.get("extra", {}), "extra", "an object")
        return cls(
            backup_id=found_id,
            database=r.string(data, "database", "database", expected="a string of at most 63 characters", max_length=63),
            server_version=r.string(data, "server_version", "server_version"),
            pg_dump_version=r.string(data, "pg_dump_version", "pg_dump_version"),
            started_at=r.string(data, "started_at", "started_at", TIMESTAMP_PATTERN, "an ISO 8601 UTC timestamp"),
            completed_at=r.string(data, "completed_at", "completed_at", TIMESTAMP_PATTERN, "an ISO 8601 UTC timestamp"),
            dump_key=dump,
            size=size,
            sha256=r.string(data, "sha256", "sha256", SHA256_PATTERN, "64 lowercase hex digits"),
            stats=_read_stats(r, r.field(data, "stats", "stats")),
            duration_seconds=float(duration),
            format_version=version,
            extra=extra,
        )


def _read_stats(r: _Reader, value: Any) -> DatabaseStats:
    stats = r.mapping(value, "stats", "an object with `tables` and `sequences`")
    tables = r.mapping(r.field(stats, "stats.tables", "tables"), "stats.tables",
                       "an object of table name → {rows, hash}")
    sequences = r.mapping(r.field(stats, "stats.sequences", "sequences"), "stats.sequences",
                          "an object of sequence name → position or null")
    read_tables = {}
    for name, entry in tables.items():
        path = f"stats.tables[{name[:80]!r}]"
        if len(name) > MAX_TABLE_NAME:
            raise r.fail(path, f"named in at most {MAX_TABLE_NAME} characters", got=f"{len(name)} characters")
        entry = r.mapping(entry, path, "an object {rows, hash}")
        read_tables[name] = TableStats(
            rows=r.integer(r.field(entry, f"{path}.rows", "rows"), f"{path}.rows"),
            hash=r.string(entry, f"{path}.hash", "hash", HASH_PATTERN, "an integer as text"),
        )
    read_sequences: dict[str, int | None] = {}
    for name, position in sequences.items():
        path = f"stats.sequences[{name[:80]!r}]"
        if len(name) > MAX_TABLE_NAME:
            raise r.fail(path, f"named in at most {MAX_TABLE_NAME} characters", got=f"{len(name)} characters")
        read_sequences[name] = None if position is None else r.integer(position, path, -(2**63))
    return DatabaseStats(tables=read_tables, sequences=read_sequences)


def utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
