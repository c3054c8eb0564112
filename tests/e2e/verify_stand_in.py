"""Test-only: `wfdeploy promote|rollback` with `wfdeploy verify` STOOD IN FOR, because kwok runs no pods.

Run in the workspace copy: `python tests/e2e/verify_stand_in.py promote alpha staging` (any wfdeploy
arguments). Everything is the real command — refusals, preflight, the Automation API's preview and up
with the policy pack, the records, the `promotion.verifiedRelease` marker and the second up that exports
`verifiedRelease` — except the one step that needs running containers: `wfdeploy verify` (testinfra and
HTTP checks in the pods). In its place the stand-in checks what the API server can tell: the stage's
workflow Deployment runs the release's image and kwok reports it Available. A pass here is NOT a verified
release on a real cluster; it lets the chain's verbs be proven (docs/real-control-plane.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

sys.path.insert(0, os.getcwd())  # the workspace copy, so its program, stack files and CLI are the ones used

from wfdeploy.promotion import automation  # noqa: E402
from wfdeploy.promotion.automation import LiveAutomation, StepResult  # noqa: E402
from wfdeploy.stages import load_stage  # noqa: E402

#: The Deployment the stand-in looks at: the workflow service's (components/workflow).
DEPLOYMENT = "workflow-service"
#: How every verdict of the stand-in starts (records show it in `detail`).
STOOD_IN = "stand-in for `wfdeploy verify {stage}`"


class VerifyStoodIn(LiveAutomation):
    """The live boundary, with `verify` replaced by what the API server of a kwok cluster can show."""

    def verify(self, stage: str) -> StepResult:
        config = load_stage(stage).config
        context, namespace = config.cluster.context, config.namespaces.workflow
        command = ["kubectl", "--context", context, "-n", namespace, "rollout", "status", f"deployment/{DEPLOYMENT}",
                   "--timeout=120s"]
        rolled = subprocess.run(command, capture_output=True, text=True, timeout=150, check=False)
        if rolled.returncode != 0:
            return StepResult(False, f"{STOOD_IN.format(stage=stage)}: rollout not complete: {rolled.stderr.strip()}")
        command = ["kubectl", "--context", context, "-n", namespace, "get", "deployment", DEPLOYMENT, "-o", "json"]
        shown = subprocess.run(command, capture_output=True, text=True, timeout=30, check=True)
        images = [c["image"] for c in json.loads(shown.stdout)["spec"]["template"]["spec"]["containers"]]
        wanted = config.images.workflow_service
        if wanted not in images:
            return StepResult(False, f"{STOOD_IN.format(stage=stage)}: the deployment runs {images}, not {wanted}")
        return StepResult(True, f"{STOOD_IN.format(stage=stage)} (kwok runs no pods): {DEPLOYMENT} rolled out {wanted}")


if __name__ == "__main__":
    from wfdeploy import cli

    automation.default_automation = VerifyStoodIn
    sys.exit(cli.main(sys.argv[1:]))
