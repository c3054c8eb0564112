"""checkov gate: zero failed checks over a stage's rendered Kubernetes manifests.

checkov runs from its own virtual environment (its pins conflict with
pulumi's). A check may only be skipped by an inline annotation on the object
that needs it, `checkov.io/skip<N>: CKV_K8S_<id>=<reason>`, written by the
component that renders the object; a skip without a reason fails this gate.

`render --all` scans every stage in one checkov process (`scan_stages`): one
start-up instead of one per stage, begun while the stages are synthesized.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import yaml

from wfdeploy.interrupts import background_tool, finish_tool, run_tool
from wfdeploy.paths import PROJECT_ROOT
from wfdeploy.render.context import GateFailure, RenderContext, object_name

CHECKOV = PROJECT_ROOT / ".venv-checkov" / "bin" / "checkov"
CHECKOV_TIMEOUT_SECONDS = 300
#: checkov's entry point for a scan whose command line comes later (see checkov_launcher.py).
LAUNCHER = Path(__file__).with_name("checkov_launcher.py")
_SKIP_KEY_RE = re.compile(r"^checkov\.io/skip\d+$")
_SKIP_VALUE_RE = re.compile(r"^CKV2?_[A-Z0-9]+_\d+=\S.{9,}$")


def checkov_arguments(manifests: Path) -> list[str]:
    # --skip-download: no calls to Prisma Cloud; the built-in checks need none
    return ["-d", str(manifests), "--framework", "kubernetes", "--output", "json", "--quiet", "--skip-download"]


def checkov_command(manifests: Path) -> list[str]:
    return [str(CHECKOV), *checkov_arguments(manifests)]


def _reports(stdout: str) -> list[dict[str, Any]]:
    """checkov prints one JSON document (a report, or a list of them)."""
    document = json.loads(stdout) if stdout.strip() else []
    return document if isinstance(document, list) else [document]


def _failed(stdout: str) -> Iterator[dict[str, Any]]:
    for report in _reports(stdout):
        yield from (report.get("results") or {}).get("failed_checks") or []


def _failure(check: dict[str, Any], file_path: str) -> GateFailure:
    return GateFailure(f"{check['resource']} ({file_path})", f"{check['check_id']} {check['check_name']}")


def failed_checks(stdout: str) -> list[GateFailure]:
    """The failed checks of a scan run in the manifests folder (checkov reports paths relative to its cwd)."""
    return [_failure(check, check.get("file_path", "").lstrip("/")) for check in _failed(stdout)]


def skip_problems(manifests: Path) -> list[GateFailure]:
    """Skip annotations must name one check and give a reason a reviewer can judge."""
    problems = []
    for path in sorted(manifests.rglob("*.yaml")):
        obj = yaml.safe_load(path.read_text()) or {}
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        for key, value in annotations.items():
            if _SKIP_KEY_RE.match(key) and not _SKIP_VALUE_RE.match(str(value)):
                problems.append(GateFailure(object_name(obj), f"{key}: {value!r} needs the form CKV_K8S_<n>=<reason>"))
    return problems


_MISSING = GateFailure("checkov", f"{CHECKOV} is missing: run scripts/install")
_TIMED_OUT = GateFailure("checkov", f"did not finish within {CHECKOV_TIMEOUT_SECONDS}s")


def _unreadable(completed: subprocess.CompletedProcess, error: Exception) -> GateFailure:
    return GateFailure("checkov", f"exit {completed.returncode}, unreadable output ({error}): {completed.stderr[-1500:]}")


def _tool_failure(completed: subprocess.CompletedProcess, failures: list[GateFailure]) -> list[GateFailure]:
    # exit 1 means failed checks; anything else non-zero, or exit 1 without one (a crash), is checkov itself failing
    if completed.returncode not in (0, 1) or (completed.returncode == 1 and not failures):
        return [GateFailure("checkov", f"exit {completed.returncode}: {completed.stderr[-1500:]}")]
    return []


def run_checkov(manifests: Path) -> list[GateFailure]:
    if not CHECKOV.is_file():
        return [_MISSING]
    try:
        completed = run_tool(checkov_command(manifests), timeout=CHECKOV_TIMEOUT_SECONDS, cwd=manifests)
    except subprocess.TimeoutExpired:
        return [_TIMED_OUT]
    try:
        failures = failed_checks(completed.stdout)
    except (json.JSONDecodeError, KeyError) as error:
        return [_unreadable(completed, error)]
    return failures + _tool_failure(completed, failures)


@dataclass(frozen=True)
class PendingScan:
    """A checkov process that is importing itself, and the folder it will scan (its cwd)."""

    process: subprocess.Popen
    folder: Path


@contextlib.contextmanager
def started_scan() -> Iterator[PendingScan | None]:
    """Start checkov now, to be given its stages by `scan_stages`; None without checkov. Leaving the block ends it."""
    if not CHECKOV.is_file():
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="wfdeploy-checkov-") as folder:
        # -P: the launcher's folder (this one, with a checkov.py) must not come first on checkov's import path
        with background_tool([str(CHECKOV.parent / "python"), "-P", str(LAUNCHER)], cwd=folder) as process:
            yield PendingScan(process, Path(folder))


def scan_stages(scan: PendingScan | None, manifests: dict[str, Path]) -> dict[str, list[GateFailure]]:
    """One checkov scan over several stages' manifests: each stage's failures, as `run_checkov` reports them."""
    if scan is None:
        return {stage: [_MISSING] for stage in manifests}
    for stage, folder in manifests.items():
        shutil.copytree(folder, scan.folder / stage)  # one folder, one scan: checkov's paths then start with the stage
    command_line = json.dumps(checkov_arguments(scan.folder)) + "\n"
    try:
        completed = finish_tool(scan.process, command_line, timeout=CHECKOV_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        return {stage: [_TIMED_OUT] for stage in manifests}
    found: dict[str, list[GateFailure]] = {stage: [] for stage in manifests}
    everything: list[GateFailure] = []
    try:
        for check in _failed(completed.stdout):
            stage, _, file_path = check.get("file_path", "").lstrip("/").partition("/")
            found[stage].append(_failure(check, file_path))
            everything.append(found[stage][-1])
    except (json.JSONDecodeError, KeyError) as error:
        return {stage: [_unreadable(completed, error)] for stage in manifests}
    return {stage: failures + _tool_failure(completed, everything) for stage, failures in found.items()}


def skip_annotations(context: RenderContext) -> list[GateFailure]:
    """The part of the checkov gate that needs no checkov: where `scan_stages` scans later, the stage runs only this."""
    return skip_problems(context.output_dir / "manifests")


def checkov(context: RenderContext) -> list[GateFailure]:
    manifests = context.output_dir / "manifests"
    return skip_problems(manifests) + run_checkov(manifests)
