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
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from wfdeploy.paths import PROJECT_ROOT
from wfdeploy.release import Release

RECORDS_DIR_ENV = "WFDEPLOY_RECORDS_DIR"

#: What an entry can say happened.
EVENTS = ("deployed", "verified", "preview-failed", "apply-failed", "verification-failed", "rolled-back")


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

    @property
    def release_id(self) -> str:
        return str(self.release.get("id", ""))

    def as_release(self) -> Release:
        return Release.from_dict(self.release)


class RecordStore:
    """Append-only JSON history per stage."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or records_dir()

    def path(self, stage: str) -> Path:
        return self.directory / f"{stage}.json"

    def history(self, stage: str) -> list[Entry]:
        path = self.path(stage)
        if not path.is_file():
            return []
        document = json.loads(path.read_text())
        return [Entry(**entry) for entry in document.get("entries", [])]

    def append(self, entry: Entry) -> None:
        entries = [asdict(existing) for existing in self.history(entry.stage)] + [asdict(entry)]
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = self.path(entry.stage).with_suffix(".json.tmp")
        temporary.write_text(json.dumps({"stage": entry.stage, "entries": entries}, indent=2, sort_keys=True) + "\n")
        temporary.replace(self.path(entry.stage))  # a crash never leaves half a record

    def verified(self, stage: str) -> list[Entry]:
        """Entries that verified a release in this stage, oldest first."""
        return [entry for entry in self.history(stage) if entry.event == "verified"]
