"""checkov gate: zero failed checks over a stage's rendered Kubernetes manifests.

checkov runs from its own virtual environment (its pins conflict with
pulumi's). A check may only be skipped by an inline annotation on the object
that needs it, `checkov.io/skip<N>: CKV_K8S_<id>=<reason>`, written by the
component that renders the object; a skip without a reason fails this gate.

`render --all` imports checkov once, while the stages are synthesized, and scans
each stage in a fork of that process as soon as the stage is written
(`send_stage`, `scan_results`): one start-up instead of one per stage.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator


from wfdeploy.interrupts import background_tool, finish_tool, run_tool
from wfdeploy.paths import PROJECT_ROOT
from wfdeploy.render.context import GateFailure, RenderContext, object_name
from wfdeploy.render.documents import read_yaml
from wfdeploy.render.gates.preimported import LAUNCHER

CHECKOV = PROJECT_ROOT / ".venv-checkov" / "bin" / "checkov"
CHECKOV_TIMEOUT_SECONDS = 300
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
        obj = read_yaml(path) or {}
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


def _stage_result(completed: subprocess.CompletedProcess) -> list[GateFailure]:
    try:
        failures = failed_checks(completed.stdout)
    except (json.JSONDecodeError, KeyError) as error:
        return [_unreadable(completed, error)]
    return failures + _tool_failure(completed, failures)


def run_checkov(manifests: Path) -> list[GateFailure]:
    if not CHECKOV.is_file():
        return [_MISSING]
    try:
        completed = run_tool(checkov_command(manifests), timeout=CHECKOV_TIMEOUT_SECONDS, cwd=manifests)
    except subprocess.TimeoutExpired:
        return [_TIMED_OUT]
    return _stage_result(completed)


@dataclass
class PendingScan:
    """A checkov launcher that is importing itself, the folder its scans write their output to, and what was sent."""

    process: subprocess.Popen
    folder: Path
    sent: dict[str, Path] = field(default_factory=dict)  #: stage -> the file its scan prints to


@contextlib.contextmanager
def started_scan() -> Iterator[PendingScan | None]:
    """Start checkov now, to be given its stages by `send_stage`; None without checkov. Leaving the block ends it."""
    if not CHECKOV.is_file():
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="wfdeploy-checkov-") as folder:
        # -P: the launcher's folder (this one, with a checkov.py) must not come first on checkov's import path
        with background_tool([str(CHECKOV.parent / "python"), "-P", str(LAUNCHER), "checkov"], cwd=folder) as process:
            yield PendingScan(process, Path(folder))


def send_stage(scan: PendingScan | None, stage: str, manifests: Path) -> None:
    """Scan this stage's manifests now, as `run_checkov` would, while other stages are still being rendered."""
    if scan is None:
        return
    output = scan.folder / f"{stage}.out"
    scan.sent[stage] = output
    request = {"argv": checkov_arguments(manifests), "cwd": str(manifests), "stdout": str(output),
               "stderr": str(output.with_suffix(".err"))}
    try:
        scan.process.stdin.write(json.dumps(request) + "\n")
        scan.process.stdin.flush()
    except (BrokenPipeError, ValueError):
        pass  # the launcher has ended already: `scan_results` reports how


def scan_results(scan: PendingScan | None, stages: list[str]) -> dict[str, list[GateFailure]]:
    """Each sent stage's failures, once every scan has ended (the same as its own `run_checkov` would report)."""
    if scan is None:
        return {stage: [_MISSING] for stage in stages}
    try:
        launcher = finish_tool(scan.process, "", timeout=CHECKOV_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        return {stage: [_TIMED_OUT] for stage in stages}
    try:
        codes = json.loads(launcher.stdout) if launcher.returncode == 0 else None
    except json.JSONDecodeError:
        codes = None
    if not isinstance(codes, dict):  # the launcher itself failed (no checkov to import): every stage fails
        return {stage: _tool_failure(launcher, []) or [_unreadable(launcher, ValueError("no exit codes"))]
                for stage in stages}
    found = {}
    for stage in stages:
        output = scan.sent[stage]
        stderr = output.with_suffix(".err")
        completed = subprocess.CompletedProcess(
            launcher.args, codes.get(str(output), 2), output.read_text() if output.exists() else "",
            stderr.read_text() if stderr.exists() else "",
        )
        found[stage] = _stage_result(completed)
    return found


def skip_annotations(context: RenderContext) -> list[GateFailure]:
    """The part of the checkov gate that needs no checkov: where the scan is sent to one imported checkov (`send_stage`), the stage runs only this."""
    return skip_problems(context.output_dir / "manifests")


def checkov(context: RenderContext) -> list[GateFailure]:
    manifests = context.output_dir / "manifests"
    return skip_problems(manifests) + run_checkov(manifests)
