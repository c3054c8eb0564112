"""Helpers for tests: stage configurations with overrides, and finding rendered objects."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

from components.config import LoadedStage, parse_stage, read_stack_file, stack_file_path
from wfdeploy.paths import PROJECT_ROOT
from wfdeploy.render.synth import Synthesis

STACKS_DIR = PROJECT_ROOT / "stacks"
STAGES = ("local", "alpha", "staging", "production")
PROMOTION_CHAIN = ("alpha", "staging", "production")


def stack_values(stage: str) -> tuple[dict[str, str], set[str]]:
    """The stack file's values as the Pulumi CLI would pass them."""
    return read_stack_file(stack_file_path(STACKS_DIR, stage))


def load_stage_with(stage: str, overrides: dict[str, Any] | None = None, drop: tuple[str, ...] = ()) -> LoadedStage:
    """Parse a stage with some top-level sections replaced (a dict per `project:key`) or dropped."""
    values, secret_keys = stack_values(stage)
    values = dict(values)
    for key in drop:
        values.pop(key, None)
    for key, value in (overrides or {}).items():
        values[key] = value if isinstance(value, str) else json.dumps(value)
    return parse_stage(stage, values, secret_keys, source=f"test:{stage}", offline=True)


def section(stage: str, key: str) -> dict[str, Any]:
    """A deep copy of one stack-file section, for building overrides."""
    return copy.deepcopy(json.loads(stack_values(stage)[0][f"workflow-platform:{key}"]))



def passphrase_ciphertext(sealed_bytes: int = 32) -> str:
    """A value of the form the passphrase and cloud secrets providers write ('v1:<nonce>:<ciphertext>')."""
    nonce, sealed = bytes(range(12)), bytes(range(sealed_bytes))
    return f"v1:{base64.b64encode(nonce).decode()}:{base64.b64encode(sealed).decode()}"


def find_object(synthesis: Synthesis, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
    matches = [
        obj
        for obj in synthesis.kubernetes_objects()
        if obj["kind"] == kind
        and obj["metadata"].get("name") == name
        and (namespace is None or obj["metadata"].get("namespace") == namespace)
    ]
    assert len(matches) == 1, f"expected one {kind} {name!r}, found {len(matches)}"
    return matches[0]
