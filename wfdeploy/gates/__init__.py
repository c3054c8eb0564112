"""Gates: checks that `render` runs on its own output; any failure stops the render.

A gate is a function (RenderContext) -> list of failures; each failure names
the object and the problem. Gates register themselves with `gate` and run in
registration order, each reported by name.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from components.config import LoadedStage
from wfdeploy.synth import Synthesis


@dataclass(frozen=True)
class RenderContext:
    stage: LoadedStage
    synthesis: Synthesis
    output_dir: Path


@dataclass(frozen=True)
class GateFailure:
    subject: str
    problem: str

    def __str__(self) -> str:
        return f"{self.subject}: {self.problem}"


Gate = Callable[[RenderContext], list[GateFailure]]

GATES: dict[str, Gate] = {}


def gate(name: str) -> Callable[[Gate], Gate]:
    def register(function: Gate) -> Gate:
        GATES[name] = function
        return function

    return register


def object_name(obj: dict) -> str:
    """'Kind namespace/name' for messages."""
    metadata = obj.get("metadata") or {}
    namespace = metadata.get("namespace")
    name = metadata.get("name", "<unnamed>")
    return f"{obj.get('kind', '<no kind>')} {namespace + '/' if namespace else ''}{name}"


#: Modules whose import registers gates, in the order they run.
GATE_MODULES: tuple[str, ...] = (
    "wfdeploy.gates.schemas",
    "wfdeploy.gates.chart_values",
    "wfdeploy.gates.monitoring",
    "wfdeploy.gates.monitors",
    "wfdeploy.gates.policy_pack",
    "wfdeploy.gates.checkov",
    "wfdeploy.gates.connectivity",
)


def load_builtin_gates() -> dict[str, Gate]:
    """Import every gate module so that each registers itself."""
    for module_name in GATE_MODULES:
        importlib.import_module(module_name)
    return GATES
