"""What the writer, every artifact writer and every gate share: the context they read and the failures they report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from components.config import LoadedStage
from wfdeploy.render.synth import Synthesis


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


#: A gate checks the rendered stage and returns its failures (empty: passed).
Gate = Callable[[RenderContext], list[GateFailure]]
#: An artifact writer adds one concern's files to the stage folder (raises RenderError when it cannot).
ArtifactWriter = Callable[[RenderContext], None]


class RenderError(Exception):
    """A gate or writer failed; lists every failure by gate."""

    def __init__(self, failures: list[GateFailure], gate_name: str = "render"):
        self.failures = failures
        self.gate_name = gate_name
        super().__init__("\n".join(f"[{gate_name}] {failure}" for failure in failures))


def object_name(obj: dict) -> str:
    """'Kind namespace/name' for messages."""
    metadata = obj.get("metadata") or {}
    namespace = metadata.get("namespace")
    name = metadata.get("name", "<unnamed>")
    return f"{obj.get('kind', '<no kind>')} {namespace + '/' if namespace else ''}{name}"
