"""Run the post-deploy suite (tests/verify) for a stage and record the verdict under build/results/<stage>/verify/.

The suite runs as a pytest subprocess with the inventory in
WFDEPLOY_VERIFY_INVENTORY; its JUnit XML becomes `result.json` (read by
`wfdeploy promote`) and `summary.txt` (read by people). The folder is outside
build/<stage>/, which every `render` replaces. See docs/verification.md.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from wfdeploy.paths import PROJECT_ROOT, results_dir
from wfdeploy.verification.inventory import Inventory

SUITE_DIR = PROJECT_ROOT / "tests" / "verify"
INVENTORY_ENV = "WFDEPLOY_VERIFY_INVENTORY"
RESULT_SCHEMA = "wfdeploy.verify/v1"
RESULT_FILE = "result.json"
SUMMARY_FILE = "summary.txt"


@dataclass(frozen=True)
class Check:
    """One check's outcome: passed, failed, error or not_applicable."""

    kind: str  # "host" or "stage"
    check: str  # the test function, e.g. test_root_filesystem_is_read_only
    target: str  # host name or parameter, "" for an unparametrised stage check
    outcome: str
    message: str = ""
    seconds: float = 0.0

    @property
    def title(self) -> str:
        return self.check.removeprefix("test_").replace("_", " ")


@dataclass
class VerifyResult:
    stage: str
    started: str
    duration_seconds: float
    checks: list[Check] = field(default_factory=list)
    release: dict[str, Any] | None = None
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    def count(self, outcome: str) -> int:
        return sum(1 for check in self.checks if check.outcome == outcome)

    @property
    def passed(self) -> bool:
        return (
            self.error is None and not self.missing and self.count("passed") > 0
            and self.count("failed") == 0 and self.count("error") == 0
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": RESULT_SCHEMA,
            "stage": self.stage,
            "release": self.release,
            "passed": self.passed,
            "started": self.started,
            "durationSeconds": round(self.duration_seconds, 2),
            "counts": {outcome: self.count(outcome) for outcome in ("passed", "failed", "error", "not_applicable")},
            "error": self.error,
            "missing": self.missing,
            "notes": self.notes,
            "checks": [asdict(check) for check in self.checks],
        }

    def summary(self) -> str:
        verdict = "PASSED" if self.passed else "FAILED"
        outcomes = ("passed", "failed", "error", "not_applicable")
        counts = ", ".join(f"{self.count(o)} {o.replace('_', ' ')}" for o in outcomes)
        lines = [f"verify {self.stage}: {verdict} ({counts}) in {self.duration_seconds:.1f}s"]
        if self.release:
            lines.append(f"release {self.release.get('id')} (image {self.release.get('imageDigest')})")
        if self.error:
            lines.append(f"error: {self.error}")
        lines += [f"missing: {item}" for item in self.missing]
        lines += [f"note: {item}" for item in self.notes]
        marks = {"passed": "ok  ", "failed": "FAIL", "error": "ERR ", "not_applicable": "n/a "}
        for check in self.checks:
            where = f" [{check.target}]" if check.target else ""
            detail = f": {check.message}" if check.outcome != "passed" and check.message else ""
            lines.append(f"  {marks[check.outcome]} {check.kind:<5} {check.title}{where}{detail}")
        return "\n".join(lines) + "\n"


def result_dir(build_root: Path, stage: str) -> Path:
    return results_dir(stage, build_root) / "verify"


def read_result(build_root: Path, stage: str) -> dict[str, Any] | None:
    """The recorded verdict of the last `wfdeploy verify STAGE`, or None if it never ran."""
    path = result_dir(build_root, stage) / RESULT_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def _first_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[0][:500] if lines else ""


def parse_junit(path: Path) -> list[Check]:
    """Checks from pytest's JUnit XML (a skip inside the suite means "not applicable here")."""
    checks = []
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        name = case.get("name", "")
        check, _, target = name.partition("[")
        kind = "host" if case.get("classname", "").endswith("test_hosts") else "stage"
        outcome, message = "passed", ""
        for child in case:
            if child.tag == "failure":
                outcome, message = "failed", _first_line(child.get("message")) or _first_line(child.text)
            elif child.tag == "error":
                outcome, message = "error", _first_line(child.get("message")) or _first_line(child.text)
            elif child.tag == "skipped":
                outcome, message = "not_applicable", (child.get("message") or "").removeprefix("Skipped: ")
        checks.append(Check(kind, check, target.rstrip("]"), outcome, message, float(case.get("time", 0))))
    return checks


def run_suite(inventory: Inventory, out_dir: Path, timeout: float = 900) -> tuple[list[Check], str | None]:
    """Run tests/verify against the inventory; (checks, error if pytest could not run it)."""
    inventory_path = inventory.write(out_dir / "inventory.json")
    junit = out_dir / "junit.xml"
    junit.unlink(missing_ok=True)
    command = [sys.executable, "-m", "pytest", str(SUITE_DIR), "-p", "no:cacheprovider", "-q", "--tb=line",
               f"--junitxml={junit}"]
    env = {**os.environ, INVENTORY_ENV: str(inventory_path)}
    try:
        completed = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return (parse_junit(junit) if junit.exists() else []), f"the suite did not finish within {timeout:.0f}s"
    (out_dir / "pytest.log").write_text(completed.stdout + completed.stderr)
    if not junit.exists() or completed.returncode not in (0, 1):
        tail = (completed.stdout + completed.stderr).strip().splitlines()[-5:]
        checks = parse_junit(junit) if junit.exists() else []
        return checks, f"pytest exited {completed.returncode}: {' | '.join(tail)}"
    return parse_junit(junit), None


def verify(inventory: Inventory, build_root: Path, release: dict[str, Any] | None = None) -> VerifyResult:
    """Run the suite and write result.json, summary.txt (and inventory.json, junit.xml, pytest.log)."""
    out_dir = result_dir(build_root, inventory.stage)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = datetime.datetime.now(datetime.timezone.utc)
    clock = time.monotonic()
    checks, error = run_suite(inventory, out_dir)
    result = VerifyResult(
        stage=inventory.stage, started=started.isoformat(timespec="seconds"), duration_seconds=time.monotonic() - clock,
        checks=checks, release=release, missing=list(inventory.missing), notes=list(inventory.notes), error=error,
    )
    write_result(result, out_dir)
    return result


def write_result(result: VerifyResult, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / RESULT_FILE).write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    (out_dir / SUMMARY_FILE).write_text(result.summary())
