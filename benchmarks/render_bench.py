"""Render time per stage and for --all, beside the mock engine's floor; then the real `wfdeploy render --all`.

The floor is the same number of trivial resources registered under the same
mock engine in the same process: what synthesis costs before the program
does anything of its own. The last lines time the command a user runs (its
process pool and the one checkov import included), wall and CPU time, beside
the load average, since on a shared machine wall time measures the neighbours too.
Run: .venv/bin/python benchmarks/render_bench.py [--command-only]
"""

from __future__ import annotations

import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pulumi  # noqa: E402
from pulumi.runtime import settings as runtime_settings  # noqa: E402
from pulumi.runtime.stack import run_pulumi_func  # noqa: E402
from pulumi.runtime.sync_await import _sync_await  # noqa: E402

from wfdeploy.render.synth import _Mocks, _RecordingMonitor, synthesize  # noqa: E402
from wfdeploy.render.writer import render_stage  # noqa: E402
from wfdeploy.stages import known_stages, load_stage  # noqa: E402

REPEATS = 5


class _Trivial(pulumi.CustomResource):
    def __init__(self, name: str):
        super().__init__("bench:index:Trivial", name, {"value": name})


def floor_seconds(count: int) -> float:
    """Register `count` trivial resources under the same mock engine."""
    mocks = _Mocks()
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project="bench", stack="floor", preview=False, monitor=_RecordingMonitor(mocks))
    started = time.perf_counter()

    async def program() -> None:
        for index in range(count):
            _Trivial(f"r{index}")

    _sync_await(run_pulumi_func(lambda: asyncio.ensure_future(program())))
    return time.perf_counter() - started


def best_of(function, *args) -> float:
    return min(function(*args) for _ in range(REPEATS))


def synth_seconds(stage_name: str) -> tuple[float, int]:
    stage = load_stage(stage_name)
    started = time.perf_counter()
    synthesis = synthesize(stage)
    return time.perf_counter() - started, len(synthesis.resources)


def command_seconds(build: Path) -> tuple[float, float, int]:
    """Wall and CPU seconds of `wfdeploy render --all`, and its exit code.

    The CPU time is the command's and every process it waited for: its forked render workers, the
    checkov launcher and its scans, every gate tool. On a shared machine wall time also measures the
    neighbours; CPU time over the cores is the wall time an idle machine could reach at best.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "wfdeploy"), "render", "--all"],
        env={**os.environ, "WFDEPLOY_BUILD_DIR": str(build)}, capture_output=True, text=True, check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, completed.returncode


def report_command() -> None:
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as build:
        wall, cpu, code = command_seconds(Path(build))
    print(f"wfdeploy render --all: {wall:.2f} s wall, {cpu:.2f} s CPU, exit {code} "
          f"(goal < 5 s wall on 2 cores; load average {load:.1f} on {os.cpu_count()} CPUs)")


def main() -> None:
    if "--command-only" in sys.argv[1:]:
        report_command()
        return
    print(f"{'stage':<12}{'resources':>10}{'synth s':>10}{'floor s':>10}{'ratio':>8}{'render s':>10}")
    with tempfile.TemporaryDirectory() as build:
        synth_total = floor_total = 0.0
        for stage_name in known_stages():
            synth_seconds(stage_name)  # warm imports
            timings = [synth_seconds(stage_name) for _ in range(REPEATS)]
            synth = min(t for t, _ in timings)
            count = timings[0][1]
            floor = best_of(floor_seconds, count)
            started = time.perf_counter()
            render_stage(load_stage(stage_name), Path(build))
            render = time.perf_counter() - started
            synth_total += synth
            floor_total += floor
            print(f"{stage_name:<12}{count:>10}{synth:>10.3f}{floor:>10.3f}{synth / floor:>8.2f}{render:>10.2f}")
        started = time.perf_counter()
        for stage_name in known_stages():
            render_stage(load_stage(stage_name), Path(build))
        render_all = time.perf_counter() - started
    print(f"{'all':<12}{'':>10}{synth_total:>10.3f}{floor_total:>10.3f}{synth_total / floor_total:>8.2f}{render_all:>10.2f}")
    print(f"every stage in one process (synthesis, writing and every gate): {render_all:.2f} s")
    print(f"synthesis / floor ratio over all stages: {synth_total / floor_total:.2f} (goal <= 1.5)")
    report_command()


if __name__ == "__main__":
    main()
