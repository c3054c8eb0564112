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
    def from_json(cls, text: str, where: str) -> "Manifest":
        try:
            data = json.loads(text)
            stats = data.pop("stats")
            return cls(
                **data,
                stats=DatabaseStats(
                    tables={name: TableStats(**value) for name, value in stats["tables"].items()},
                    sequences=stats["sequences"],
                ),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"manifest {where} is unreadable: {error}") from None


def utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
