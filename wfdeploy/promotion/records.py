"""The deployment record of each stage: what was deployed, verified or rolled back, when, from where.

Records are JSON files `records/<stage>.json` (override the folder with
WFDEPLOY_RECORDS_DIR), appended by `wfdeploy promote` and `rollback`. They are
the history `rollback` chooses its target from and keep each release's
non-secret stack configuration and git commit, so it can be re-deployed
exactly. They are not in git: `scripts/records-sync pull|push` keeps them
beside the Pulumi state (WFDEPLOY_RECORDS_URL, e.g. s3://<state bucket>/wfdeploy-records),
as CI does around every promotion. Whether a stage's *current* release is
verified is never read from here but from the stack's `verifiedRelease`
output in the Pulumi backend.

A records file is read through one schema (`ENTRY_SCHEMA`): a truncated or
mistyped file is refused naming the file, fields a newer version added are
kept. Appends hold a lock beside the file and replace it atomically.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from components.config.stagename import stage_name_problem
from components.release import Release
from wfdeploy.jsonfile import Field, StoredFileError, check_object, check_writable, locked, read_json, write_json_atomic
from wfdeploy.paths import PROJECT_ROOT

RECORDS_DIR_ENV = "WFDEPLOY_RECORDS_DIR"

#: What an entry can say happened.
EVENTS = ("deployed", "verified", "preview-failed", "apply-failed", "verification-failed", "rolled-back")

#: The records file: {"stage": STAGE, "entries": [entry, ...]}; unknown fields are a newer version's and kept.
DOCUMENT_SCHEMA = {"stage": Field((str,)), "entries": Field((list,), required=True)}
ENTRY_SCHEMA = {
    "stage": Field((str,), required=True),
    "event": Field((str,), required=True, choices=EVENTS),
    "release": Field((dict,), required=True),
    "source": Field((str,), required=True),
    "at": Field((str,)),
    "git_commit": Field((str,)),
    "stack_config": Field((dict,), items=(str,)),
    "detail": Field((str,)),
}
RELEASE_SCHEMA = {"id": Field((str,), required=True)}


class RecordsError(StoredFileError):
    """A records file cannot be read, parsed or written; the message names the file and what was expected."""


def records_dir() -> Path:
    configured = os.environ.get(RECORDS_DIR_ENV)
    return Path(configured) if configured else PROJECT_ROOT / "records"


def git_commit() -> str:
    """The checkout's commit, so a release can be re-deployed from the same code."""
    try:
        completed = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return completed.stdout.strip() if completed.returncode == 0 else "unknown"


@dataclass(frozen=True)
class Entry:
    """One thing that happened to one stage."""

    stage: str
    event: str
    release: dict[str, Any]
    source: str
    at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    git_commit: str = ""
    stack_config: dict[str, str] = field(default_factory=dict)
    detail: str = ""

    def __post_init__(self) -> None:
        if self.event not in EVENTS:
            raise ValueError(f"unknown record event {self.event!r}; expected one of {', '.join(EVENTS)}")

    @classmethod
    def from_stored(cls, raw: dict[str, Any]) -> "Entry":
        """An entry from an object `ENTRY_SCHEMA` accepted (fields of newer versions are left out)."""
        return cls(**{name: raw[name] for name in ENTRY_SCHEMA if name in raw})

    @property
    def release_id(self) -> str:
        return str(self.release.get("id", ""))

    def as_release(self) -> Release:
        return Release.from_dict(self.release)


def read_entries(path: Path, stage: str) -> list[dict[str, Any]]:
    """The stored entries of one records file, as objects, each checked against `ENTRY_SCHEMA`."""
    try:
        document = read_json(path)
    except StoredFileError as error:
        raise RecordsError(str(error)) from None
    if document is None:
        return []
    problems = check_object(document, DOCUMENT_SCHEMA, "$")
    if not problems and document.get("stage", stage) != stage:
        problems.append(f"$.stage: {document['stage']!r}, but this is the records file of {stage!r}")
    entries = document.get("entries") if isinstance(document, dict) else None
    entries = entries if isinstance(entries, list) else []
    for index, raw in enumerate(entries):
        where = f"$.entries[{index}]"
        found = check_object(raw, ENTRY_SCHEMA, where)
        if not found:
            found = check_object(raw["release"], RELEASE_SCHEMA, f"{where}.release")
        if not found and raw["stage"] != stage:
            found = [f"{where}.stage: {raw['stage']!r}, but this is the records file of {stage!r}"]
        problems += found
    if problems:
        shown = problems[:5] + ([f"… and {len(problems) - 5} more"] if len(problems) > 5 else [])
        raise RecordsError(
            f"{path}: not a records file of this tool ({'; '.join(shown)}); expected "
            '{"stage": STAGE, "entries": [{"stage", "event", "release": {"id", …}, "source", …}, …]}'
        )
    return entries


class RecordStore:
    """Append-only JSON history per stage."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or records_dir()

    def path(self, stage: str) -> Path:
        problem = stage_name_problem(stage)
        if problem:
            raise RecordsError(f"{self.directory}: {problem}")
        return self.directory / f"{stage}.json"

    def history(self, stage: str) -> list[Entry]:
        return [Entry.from_stored(raw) for raw in read_entries(self.path(stage), stage)]

    def check_writable(self, stage: str) -> None:
        """Refuse before anything changes when this stage's records could not be appended to."""
        path = self.path(stage)
        read_entries(path, stage)
        try:
            check_writable(self.directory)
        except StoredFileError as error:
            raise RecordsError(f"{error}; the records of {stage!r} (records/{stage}.json) must be writable") from None
        if path.exists() and not os.access(path, os.W_OK):
            raise RecordsError(f"{path}: not writable; the records of {stage!r} must be writable")

    def append(self, entry: Entry) -> None:
        path = self.path(entry.stage)
        try:
            with locked(path):
                entries = read_entries(path, entry.stage) + [asdict(entry)]
                write_json_atomic(path, {"stage": entry.stage, "entries": entries})
        except RecordsError:
            raise
        except StoredFileError as error:
            raise RecordsError(str(error)) from None

    def verified(self, stage: str) -> list[Entry]:
        """Entries that verified a release in this stage, oldest first."""
        return [entry for entry in self.history(stage) if entry.event == "verified"]
