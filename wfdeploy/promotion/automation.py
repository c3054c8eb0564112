"""The one boundary to everything outside this process: Pulumi, kubectl, aws, `wfdeploy verify`.

Promotion, rollback, preflight and `validate --deployable` talk only to an `Automation`; the tests
hand them a recording fake, users get `LiveAutomation`: stack operations
through the Pulumi Automation API (`pulumi.automation`), cluster and account
questions through `kubectl` and `aws` subprocesses.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from wfdeploy.paths import PROJECT_ROOT

#: Seconds any single kubectl/aws question may take before the cluster counts as unreachable.
QUESTION_TIMEOUT = 20


class AutomationError(RuntimeError):
    """Pulumi, kubectl or aws could not be asked at all (missing, unreachable, refusing)."""


@contextmanager
def _asking(what: str):
    """Turn a tool's failure into an AutomationError that says what was being asked."""
    from pulumi import automation as auto

    try:
        yield
    except auto.CommandError as error:
        lines = [line for line in str(error).splitlines() if line.strip()]
        raise AutomationError(f"{what}: {lines[-1] if lines else 'pulumi failed'}") from None
    except OSError as error:
        raise AutomationError(f"{what}: {error}") from None


@dataclass(frozen=True)
class StepResult:
    """Outcome of a preview, an update or a verification."""

    ok: bool
    summary: str = ""


class Automation(Protocol):
    """Everything promotion, rollback and preflight may ask of the outside world."""

    def pulumi_version(self) -> str | None:
        """The Pulumi CLI's version ('3.190.0'), or None when it is not installed."""

    def kube_contexts(self) -> list[str]:
        """Context names in the kubeconfig."""

    def kube_server_version(self, context: str) -> str | None:
        """The cluster's 'MAJOR.MINOR', or None when it cannot be reached."""

    def kube_crds(self, context: str) -> set[str]:
        """Names of the CustomResourceDefinitions the cluster serves."""

    def kube_deployment_available(self, context: str, namespace: str, name: str) -> bool:
        """Whether the Deployment exists with at least one available replica."""

    def aws_account_id(self) -> str | None:
        """The account of the current AWS credentials, or None without usable credentials."""

    def configured_keys(self, stage: str) -> set[str]:
        """'project:key' names the stack has configured (values never leave the boundary)."""

    def stack_outputs(self, stage: str) -> dict[str, Any]:
        """The stack's current outputs; empty for a stack never deployed."""

    def set_config(self, stage: str, key: str, value: str, *, path: bool = False) -> None:
        """Set one plain (non-secret) config value; `path` addresses a nested key ('promotion.verifiedRelease')."""

    def unset_config(self, stage: str, key: str, *, path: bool = False) -> None:
        """Remove one config value (no error when it is not set)."""

    def preview(self, stage: str) -> StepResult:
        """`pulumi preview` with the policy pack."""

    def up(self, stage: str) -> StepResult:
        """`pulumi up`."""

    def verify(self, stage: str) -> StepResult:
        """`wfdeploy verify STAGE` against the deployed stage."""


class LiveAutomation:
    """The real boundary: Pulumi Automation API plus kubectl/aws subprocesses."""

    def __init__(self, work_dir: str = str(PROJECT_ROOT)) -> None:
        self.work_dir = work_dir

    # -- Pulumi -----------------------------------------------------------
    def _stack(self, stage: str):
        from pulumi import automation as auto

        if shutil.which("pulumi") is None:
            raise AutomationError("the Pulumi CLI is not installed (no `pulumi` on PATH); see `wfdeploy preflight`")
        with _asking(f"cannot open stack {stage!r}"):
            return auto.create_or_select_stack(stack_name=stage, work_dir=self.work_dir)

    def pulumi_version(self) -> str | None:
        if shutil.which("pulumi") is None:
            return None
        completed = self._run(["pulumi", "version"])
        return completed.stdout.strip().lstrip("v") if completed and completed.returncode == 0 else None

    def configured_keys(self, stage: str) -> set[str]:
        # `pulumi config --json` lists keys without creating the stack (selecting one through the
        # Automation API would create a missing stack, and a check must change nothing)
        if shutil.which("pulumi") is None:
            raise AutomationError("the Pulumi CLI is not installed (no `pulumi` on PATH); see `wfdeploy preflight`")
        completed = subprocess.run(
            ["pulumi", "config", "--stack", stage, "--json"], cwd=self.work_dir, capture_output=True, text=True, check=False
        )
        if completed.returncode != 0:
            raise AutomationError(f"`pulumi config --stack {stage}` failed: {completed.stderr.strip()}")
        return set(json.loads(completed.stdout))

    def stack_outputs(self, stage: str) -> dict[str, Any]:
        stack = self._stack(stage)
        with _asking(f"cannot read the outputs of stack {stage!r}"):
            return {name: output.value for name, output in stack.outputs().items()}

    def set_config(self, stage: str, key: str, value: str, *, path: bool = False) -> None:
        from pulumi import automation as auto

        stack = self._stack(stage)
        decoded: Any = value
        if not path and value[:1] in ("{", "["):
            try:
                decoded = json.loads(value)
            except json.JSONDecodeError:
                decoded = value
        with _asking(f"cannot set {key} of stack {stage!r}"):
            if isinstance(decoded, (dict, list)):
                # replace the whole object, typed as given: path assignments would turn the string "1" into a number
                stack.remove_config(key)
                stack.set_all_config_json(json.dumps({key: {"value": value, "objectValue": decoded, "secret": False}}))
            else:
                stack.set_config(key, auto.ConfigValue(value=value, secret=False), path=path)

    def unset_config(self, stage: str, key: str, *, path: bool = False) -> None:
        from pulumi import automation as auto

        stack = self._stack(stage)
        with _asking(f"cannot read the configuration of stack {stage!r}"):
            if path and key.partition(".")[0] not in stack.get_all_config():
                return
        try:
            stack.remove_config(key, path=path)
        except auto.CommandError:  # the CLI reports a missing nested key as an error; absent is what we want
            pass

    def preview(self, stage: str) -> StepResult:
        from pulumi import automation as auto

        policies = PROJECT_ROOT / "policies"
        packs = [str(policies)] if (policies / "PulumiPolicy.yaml").is_file() else None
        try:
            result = self._stack(stage).preview(policy_packs=packs, on_output=print)
        except auto.CommandError as error:
            return StepResult(False, str(error).strip().splitlines()[-1] if str(error).strip() else "preview failed")
        return StepResult(True, ", ".join(f"{op}: {n}" for op, n in sorted(result.change_summary.items())))

    def up(self, stage: str) -> StepResult:
        from pulumi import automation as auto

        try:
            result = self._stack(stage).up(on_output=print)
        except auto.CommandError as error:
            return StepResult(False, str(error).strip().splitlines()[-1] if str(error).strip() else "update failed")
        return StepResult(result.summary.result == "succeeded", f"update {result.summary.result}")

    def verify(self, stage: str) -> StepResult:
        completed = subprocess.run([sys.executable, "-m", "wfdeploy", "verify", stage], cwd=self.work_dir, check=False)
        return StepResult(completed.returncode == 0, f"wfdeploy verify {stage} exited {completed.returncode}")

    # -- kubectl and aws --------------------------------------------------
    def _run(self, command: list[str]) -> subprocess.CompletedProcess | None:
        if shutil.which(command[0]) is None:
            return None
        try:
            return subprocess.run(command, capture_output=True, text=True, timeout=QUESTION_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            return None

    def kube_contexts(self) -> list[str]:
        completed = self._run(["kubectl", "config", "get-contexts", "-o", "name"])
        return completed.stdout.split() if completed and completed.returncode == 0 else []

    def kube_server_version(self, context: str) -> str | None:
        completed = self._run(["kubectl", "--context", context, "version", "-o", "json", "--request-timeout=10s"])
        if not completed or completed.returncode != 0:
            return None
        server = json.loads(completed.stdout).get("serverVersion") or {}
        if not server:
            return None
        # managed clusters report minors such as '34+'
        return f"{server.get('major', '').rstrip('+')}.{server.get('minor', '').rstrip('+')}"

    def kube_crds(self, context: str) -> set[str]:
        completed = self._run(["kubectl", "--context", context, "get", "crd", "-o", "name"])
        if not completed or completed.returncode != 0:
            return set()
        return {line.split("/", 1)[-1] for line in completed.stdout.split()}

    def kube_deployment_available(self, context: str, namespace: str, name: str) -> bool:
        completed = self._run(["kubectl", "--context", context, "-n", namespace, "get", "deployment", name, "-o", "json"])
        if not completed or completed.returncode != 0:
            return False
        return (json.loads(completed.stdout).get("status") or {}).get("availableReplicas", 0) >= 1

    def aws_account_id(self) -> str | None:
        completed = self._run(["aws", "sts", "get-caller-identity", "--query", "Account", "--output", "text"])
        return completed.stdout.strip() if completed and completed.returncode == 0 else None


def default_automation() -> Automation:
    """What the commands use; tests replace this with a recording fake."""
    return LiveAutomation()
