"""Monitoring gate: the real promtool and amtool check what `render` wrote for the stage."""

from __future__ import annotations

import shutil

from wfdeploy.interrupts import run_tool
from wfdeploy.render.artifacts.monitoring import monitoring_paths
from wfdeploy.render.context import GateFailure, RenderContext

TOOL_TIMEOUT_SECONDS = 60


def _run(command: list[str]) -> tuple[int, str]:
    if shutil.which(command[0]) is None:
        return 127, f"{command[0]} is not installed (Debian package: see scripts/debian-packages.txt)"
    completed = run_tool(command, timeout=TOOL_TIMEOUT_SECONDS)
    return completed.returncode, (completed.stdout + completed.stderr).strip()


def monitoring_gate(context: RenderContext) -> list[GateFailure]:
    paths = monitoring_paths(context.output_dir)
    rule_files = sorted(paths["rules"].glob("*.yaml"))
    failures = []
    if not rule_files:
        failures.append(GateFailure(str(paths["rules"]), "no rule files were rendered"))
    else:
        code, output = _run(["promtool", "check", "rules", *map(str, rule_files)])
        if code != 0:
            failures.append(GateFailure("monitoring/rules", f"promtool check rules failed:\n{output}"))
    code, output = _run(["amtool", "check-config", str(paths["alertmanager"])])
    if code != 0:
        failures.append(GateFailure("monitoring/alertmanager.yaml", f"amtool check-config failed:\n{output}"))
    return failures
