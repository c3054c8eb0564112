"""`pulumi up` of a stage beside `kubectl apply --server-side` of its rendered manifests, on one API server.

Starts `wfdeploy cluster up`, then per run: deploys STAGE (default `local`, charts as CRDs only) with the
real CLI and engine, times a no-op `pulumi preview`, destroys it, applies the same rendered manifests
with kubectl (server-side) to the same cluster, then waits with kubectl for what Pulumi's provider
waits for, and deletes them again. Prints where `pulumi up`'s time went (engine events), the figures
and two ratios: against the bare apply, and against apply + the matching waits. Stops the cluster.
Goal: ratio <= 2, no-op preview < 15 s.
Run: .venv/bin/python benchmarks/real_deploy_bench.py [STAGE] [--runs N] [--parallel P] [--source CHECKOUT]
Needs the toolchain on PATH or in $WFDEPLOY_TOOLCHAIN_BIN, and kubectl.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from wfdeploy.cluster import running  # noqa: E402
from wfdeploy.cluster.offline_pulumi import offline_env, workspace_copy  # noqa: E402
from wfdeploy.cluster.toolchain import search_path  # noqa: E402
from wfdeploy.commands.cluster import settings_for  # noqa: E402
from wfdeploy.paths import PROJECT_ROOT  # noqa: E402

PASSPHRASE = "benchmark-stacks-only"
TIMELINE = Path(__file__).resolve().parent / "engine_timeline.py"
SKIP_AWAIT = "pulumi.com/skipAwait"
#: what pulumi-kubernetes 4.25 waits for after creating each kind (provider/pkg/await/awaiters.go)
WAITS = {
    "Deployment": "Available, new ReplicaSet rolled out",
    "StatefulSet": "every replica ready and current",
    "Job": "Complete",
    "Service": "ready endpoints, then 10 s without an endpoint change (its settle timer)",
    "PersistentVolumeClaim": "Bound (StorageClass binding mode Immediate)",
}
#: resource types that are not steps of the provider (components and the stack)
_NOT_STEPS = ("wf:", "pulumi:pulumi:Stack")


def timed(what: str, command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.monotonic()
    completed = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    if completed.returncode != 0:
        sys.exit(f"{what} failed (exit {completed.returncode}):\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}")
    return elapsed


# -- where `pulumi up`'s time goes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    type: str
    name: str
    start: float
    end: float

    @property
    def kind(self) -> str:
        return self.type.rsplit(":", 1)[-1]


def steps_of(timeline: dict) -> list[Step]:
    """Each resource operation, from its pre-event to its outputs (or failure) event."""
    begun: dict[str, tuple[float, str]] = {}
    steps = []
    for at, event, _op, type_, urn in timeline["events"]:
        if event == "resource_pre_event":
            begun[urn] = (at, type_)
        elif urn in begun:
            start, _ = begun.pop(urn)
            steps.append(Step(type_, urn.rsplit("::", 1)[-1], start, at))
    return steps


def covered(spans: list[tuple[float, float]]) -> float:
    """Seconds covered by the union of the spans."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def only_in_first(first: list[tuple[float, float]], second: list[tuple[float, float]]) -> float:
    """Seconds covered by `first` but by no span of `second`."""
    return covered(first + second) - covered(second)


def in_flight(spans: list[tuple[float, float]], limit: int) -> tuple[int, float]:
    """The most spans open at once, and the seconds during which `limit` or more were open."""
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    level = peak = 0
    at_limit, since = 0.0, None
    for at, change in edges:
        level += change
        peak = max(peak, level)
        if level >= limit and since is None:
            since = at
        elif level < limit and since is not None:
            at_limit, since = at_limit + at - since, None
    return peak, at_limit


def breakdown(timeline: dict, launched: float, exited: float, parallel: int) -> list[str]:
    """Lines saying where the time of one `pulumi up` went, from the engine's events."""
    steps = [step for step in steps_of(timeline) if not step.type.startswith(_NOT_STEPS)]
    provider = [step for step in steps if step.type == "pulumi:providers:kubernetes"]
    resources = [step for step in steps if not step.type.startswith("pulumi:providers:")]
    awaited = [step for step in resources if step.kind in WAITS]
    spans = lambda chosen: [(step.start, step.end) for step in chosen]  # noqa: E731
    first, last = min(step.start for step in resources), max(step.end for step in resources)
    program_start, program_end = timeline["program"]
    lines = [
        f"  {timeline['imported'] - launched:5.1f} s  Python start and Automation API import",
        f"  {timeline['prelude'] - timeline['imported']:5.1f} s  stack selection and CLI/engine start (until the prelude event)",
        f"  {program_end - program_start:5.1f} s  the program (imports of the components and SDKs, then every declaration; "
        "overlaps what follows)",
    ]
    if provider:
        lines.append(f"  {provider[0].end - provider[0].start:5.1f} s  kubernetes provider: plugin start and configure "
                     "(the first resource waits for it)")
    peak, at_limit = in_flight(spans(steps), parallel)
    lines += [
        f"  {last - first:5.1f} s  first resource step to last ({len(resources)} steps; at most {peak} in flight, "
        f"the engine allows {parallel}: at that limit for {at_limit:.1f} s)",
        f"  {exited - last:5.1f} s  after the last step: summary, state, CLI and process exit",
        f"  of the steps' time: {only_in_first(spans(awaited), spans([s for s in resources if s not in awaited])):.1f} s "
        f"with nothing in flight but readiness waits ({covered(spans(awaited)):.1f} s with one at least)",
    ]
    for kind, what in WAITS.items():
        of_kind = [step for step in awaited if step.kind == kind]
        if of_kind:
            longest = max(of_kind, key=lambda step: step.end - step.start)
            slow = sum(1 for step in of_kind if step.end - step.start >= 10)
            lines.append(f"    {kind} x{len(of_kind)} ({what}): longest {longest.end - longest.start:.1f} s ({longest.name})"
                         + (f", {slow} of them >= 10 s" if slow else ""))
    return lines


# -- kubectl: the same manifests, bare and with the waits that match Pulumi's -------------------------------


def manifests_of(folders: list[Path]) -> list[dict]:
    return [yaml.safe_load(path.read_text()) for folder in folders for path in sorted(folder.rglob("*.yaml"))]


def kubectl_waits(objects: list[dict]) -> list[list[str]]:
    """One kubectl command per object the provider would await (skipAwait objects and selector-less Services excepted)."""
    commands = []
    for obj in objects:
        kind, meta, spec = obj["kind"], obj["metadata"], obj.get("spec") or {}
        if kind not in WAITS or (meta.get("annotations") or {}).get(SKIP_AWAIT) == "true":
            continue
        target = [f"{kind.lower()}/{meta['name']}", "-n", meta["namespace"], "--timeout=300s"]
        if kind == "Deployment":
            commands.append(["kubectl", "rollout", "status", *target])
        elif kind == "StatefulSet":
            commands.append(["kubectl", "rollout", "status", *target])
        elif kind == "Job":
            commands.append(["kubectl", "wait", "--for=condition=Complete", *target])
        elif kind == "PersistentVolumeClaim":
            commands.append(["kubectl", "wait", "--for=jsonpath={.status.phase}=Bound", *target])
        elif spec.get("selector") and spec.get("clusterIP") != "None" and spec.get("type") != "ExternalName":
            commands.append(["kubectl", "wait", "--for=jsonpath={.subsets[*].addresses[*].ip}",
                             f"endpoints/{meta['name']}", *target[1:]])
    return commands


@dataclass(frozen=True)
class Run:
    up: float
    noop_preview: float
    apply: float
    waits: float
    objects: int
    wait_commands: int
    breakdown: list[str]

    @property
    def ratio_bare(self) -> float:
        return self.up / self.apply

    @property
    def ratio_waited(self) -> float:
        return self.up / (self.apply + self.waits)


def one_run(stage: str, project: Path, env: dict[str, str], driver: list[str], parallel: int | None, scratch: Path) -> Run:
    timeline_file = scratch / "up-timeline.json"
    timeline_env = {**env, "PYTHONPATH": str(project)}
    launched = time.time()
    timed("pulumi up", [sys.executable, str(TIMELINE), "up", stage, str(timeline_file), *([str(parallel)] if parallel else [])],
          project, timeline_env)
    exited = time.time()
    timeline = json.loads(timeline_file.read_text())
    noop = timed("no-op preview", [*driver, "preview", stage, "--expect-no-changes"], project, env)
    timed("pulumi destroy", [*driver, "destroy", stage], project, env)

    manifests = project / "build" / stage / "manifests"
    # cluster-scoped objects (the namespaces) first, then each namespace's folder, as Pulumi orders them
    folders = sorted(manifests.iterdir(), key=lambda folder: folder.name != "cluster")
    objects = manifests_of(folders)
    apply = timed("kubectl apply", ["kubectl", "apply", "--server-side", "-R", *[f"-f={folder}" for folder in folders]],
                  project, env)
    waits = kubectl_waits(objects)
    started = time.monotonic()
    # all at once, as a script would (`kubectl wait … &` then `wait`): the ratio then favours kubectl, not Pulumi
    waiting = [subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for command in waits]
    for command, process in zip(waits, waiting):
        output, _ = process.communicate()
        if process.returncode != 0:
            sys.exit(f"{' '.join(command)} failed (exit {process.returncode}):\n{output[-3000:]}")
    waited = time.monotonic() - started
    # leave the cluster as the next run's `pulumi up` expects it: nothing of the platform
    timed("kubectl delete", ["kubectl", "delete", "--wait", "--ignore-not-found", "-R",
                             *[f"-f={folder}" for folder in reversed(folders)]], project, env)
    engine_limit = parallel or 4 * len(os.sched_getaffinity(0))
    return Run(exited - launched, noop, apply, waited, len(objects), len(waits), breakdown(timeline, launched, exited, engine_limit))


def spread(values: list[float], unit: str = " s") -> str:
    if len(values) == 1:
        return f"{values[0]:.2f}{unit}"
    return f"median {statistics.median(values):.2f}{unit} (min {min(values):.2f}, max {max(values):.2f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", nargs="?", default="local")
    parser.add_argument("--runs", type=int, default=1, help="deploy/compare cycles on the one cluster (default 1)")
    parser.add_argument("--parallel", type=int, default=None,
                        help="the engine's --parallel (default: the CLI's, 4 x CPUs)")
    parser.add_argument("--source", type=Path, default=PROJECT_ROOT,
                        help="the checkout to deploy (default this one; its ../shared and .venv are used)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs: expected at least 1")
    stage = args.stage
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="real-deploy-bench-") as scratch:
        root = Path(scratch)
        with running(replace(settings_for([stage], nodes=3, timeout=240), directory=root / "cluster"), log=print) as state:
            project = workspace_copy(root, source=args.source.resolve())
            env = offline_env(root / "state", state.kubeconfig, PASSPHRASE, base={**os.environ, "PATH": search_path()})
            env["WFDEPLOY_BUILD_DIR"] = str(project / "build")
            driver = [sys.executable, "-m", "wfdeploy.cluster.stack_driver"]
            timed("init", [*driver, "init", stage, "--config=workflow-platform:substitutions.chartReleases=crds-only"],
                  project, env)
            timed("render", [sys.executable, "-m", "wfdeploy", "render", stage, "--skip-gates"], project, env)
            for number in range(1, args.runs + 1):
                run = one_run(stage, project, env, driver, args.parallel, root)
                runs.append(run)
                print(f"run {number}: pulumi up {run.up:.1f} s; kubectl apply {run.apply:.1f} s, its {run.wait_commands} "
                      f"waits {run.waits:.1f} s; no-op preview {run.noop_preview:.1f} s", flush=True)
                print("\n".join(run.breakdown), flush=True)
    load = os.getloadavg()[0]
    print(f"\nstage {stage} ({args.source}), {len(runs)} run(s), load average {load:.1f} at the end:")
    print(f"pulumi up: {spread([run.up for run in runs])}")
    print(f"(a) kubectl apply --server-side ({runs[0].objects} objects): {spread([run.apply for run in runs])}; "
          f"ratio {spread([run.ratio_bare for run in runs], '')} (goal <= 2)")
    print(f"(b) kubectl apply + the {runs[0].wait_commands} waits matching Pulumi's awaits: "
          f"{spread([run.apply + run.waits for run in runs])}; ratio {spread([run.ratio_waited for run in runs], '')} (goal <= 2)")
    print(f"no-op pulumi preview: {spread([run.noop_preview for run in runs])} (goal < 15 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
