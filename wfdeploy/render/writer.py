"""`wfdeploy render`: synthesize a stage offline and write what it would deploy.

Output layout under build/<stage>/ (same input, byte-identical output):
  manifests/<namespace|cluster>/<Kind>.<name>.yaml  every Kubernetes object
  charts/<release>.yaml                              every Helm release: chart, version, values
  cloud/<type>.<name>.yaml                           every cloud resource's inputs
  plan.json                                          resources by component and type
  outputs.json                                       stack outputs (secrets redacted)
  …                                                  what the artifact writers (ARTIFACT_WRITERS) add
The folder is written beside the old one (build/.<stage>-XXXX) and swapped in only
when complete, in one rename: build/<stage>/ is always the old or the new build.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from components.config import REDACTED, LoadedStage
from wfdeploy.render.artifacts import ARTIFACT_WRITERS
from wfdeploy.render.context import Gate, GateFailure, RenderContext, RenderError
from wfdeploy.render.documents import dump_json, dump_yaml
from wfdeploy.render.gates import GATES
from wfdeploy.render.synth import DeclaredResource, Synthesis, synthesize


def redact_secret_object(obj: dict[str, Any]) -> dict[str, Any]:
    """A Secret with every value replaced by the placeholder; keys stay visible for review."""
    if obj.get("kind") != "Secret":
        return obj
    redacted = dict(obj)
    for field_name in ("data", "stringData"):
        if isinstance(obj.get(field_name), dict):
            redacted[field_name] = {key: REDACTED for key in obj[field_name]}
    return redacted


def _safe_name(value: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in value)


def manifest_path(obj: dict[str, Any]) -> Path:
    metadata = obj.get("metadata") or {}
    folder = metadata.get("namespace") or "cluster"
    return Path("manifests") / _safe_name(folder) / f"{obj['kind']}.{_safe_name(metadata.get('name', 'unnamed'))}.yaml"


def plan_summary(synthesis: Synthesis) -> dict[str, Any]:
    by_component: dict[str, Counter] = defaultdict(Counter)
    for resource in synthesis.resources:
        if resource.type == "pulumi:pulumi:Stack":
            continue
        by_component[resource.parent_type or "(root)"][resource.type] += 1
    return {
        "stage": synthesis.stage,
        "resourceCount": sum(sum(counter.values()) for counter in by_component.values()),
        "byComponent": {component: dict(sorted(counter.items())) for component, counter in sorted(by_component.items())},
    }


def _is_cloud_resource(resource: DeclaredResource) -> bool:
    return resource.custom and not resource.type.startswith(("kubernetes:", "pulumi:"))


def write_core_artifacts(synthesis: Synthesis, out: Path) -> None:
    for obj in synthesis.kubernetes_objects():
        path = out / manifest_path(obj)
        if path.exists():
            raise RenderError([GateFailure(str(path.relative_to(out)), "two objects render to the same file")])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump_yaml(redact_secret_object(obj)))
    for resource in synthesis.resources:
        if resource.type.startswith("kubernetes:helm.sh/"):
            target = out / "charts" / f"{_safe_name(resource.name)}.yaml"
        elif _is_cloud_resource(resource):
            target = out / "cloud" / f"{_safe_name(resource.type.split(':')[-1])}.{_safe_name(resource.name)}.yaml"
        else:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(dump_yaml({"type": resource.type, "name": resource.name, "inputs": resource.inputs}))
    (out / "plan.json").write_text(dump_json(plan_summary(synthesis)))
    (out / "outputs.json").write_text(dump_json(synthesis.outputs))


@dataclass
class RenderResult:
    stage: str
    output_dir: Path
    synthesis: Synthesis
    gate_results: dict[str, list[GateFailure]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(self.gate_results.values())


_RENAME_EXCHANGE = 2  # renameat2(2) flag: swap two existing paths in one step
_AT_FDCWD = -100


def _exchange(first: Path, second: Path) -> bool:
    """Swap two folders atomically (Linux renameat2); False where the system or filesystem cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (AttributeError, OSError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    error = ctypes.get_errno()
    if error in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(error, os.strerror(error), str(second))


def swap_into_place(new: Path, final: Path) -> None:
    """Make `new` the folder `final`: the old or the new folder is always there; the old one may be left at `new`."""
    if not final.exists():
        new.rename(final)
        return
    if _exchange(new, final):
        return
    # without an atomic exchange: the old folder moves aside, and back again if the new one cannot follow it
    aside = new.with_name(new.name + ".previous")
    final.rename(aside)
    try:
        new.rename(final)
    except BaseException:
        aside.rename(final)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def render_stage(
    stage: LoadedStage, build_root: Path, run_gates: bool = True, gates: Mapping[str, Gate] = GATES
) -> RenderResult:
    """Synthesize, write build/<stage>/ atomically, then run every gate on it (`gates`: GATES, or a variant of it)."""
    synthesis = synthesize(stage)
    name = stage.config.stage
    build_root.mkdir(parents=True, exist_ok=True)
    staging_dir = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=build_root))
    try:
        write_core_artifacts(synthesis, staging_dir)
        context = RenderContext(stage=stage, synthesis=synthesis, output_dir=staging_dir)
        for writer in ARTIFACT_WRITERS:
            writer(context)
        final_dir = build_root / name
        swap_into_place(staging_dir, final_dir)
    finally:
        # after the swap this path holds the previous build (or nothing); before it, the unfinished one
        shutil.rmtree(staging_dir, ignore_errors=True)
    result = RenderResult(stage=name, output_dir=final_dir, synthesis=synthesis)
    if run_gates:
        context = RenderContext(stage=stage, synthesis=synthesis, output_dir=final_dir)
        for gate_name, gate_function in gates.items():
            result.gate_results[gate_name] = gate_function(context)
    return result
