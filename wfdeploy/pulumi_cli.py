"""The narrow boundary to the Pulumi CLI for read-only questions about a stack."""

from __future__ import annotations

import json
import shutil
import subprocess

from wfdeploy.paths import PROJECT_ROOT


def configured_keys(stage: str) -> set[str]:
    """Config keys a stack has set (secret or not), without revealing any value."""
    if shutil.which("pulumi") is None:
        raise RuntimeError("the Pulumi CLI is not installed (https://www.pulumi.com/docs/install/)")
    completed = subprocess.run(
        ["pulumi", "config", "--stack", stage, "--json"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"`pulumi config --stack {stage}` failed: {completed.stderr.strip()}")
    return set(json.loads(completed.stdout))
