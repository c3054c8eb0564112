"""Wall and CPU seconds of each security gate per stage (policy pack, checkov, connectivity).

CPU includes the gate's child processes (checkov, nca), so it stays meaningful
on a busy machine where wall time is not. Run:
.venv/bin/python benchmarks/security_gates_bench.py [STAGE ...]
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from wfdeploy.render.context import RenderContext  # noqa: E402
from wfdeploy.render.gates import GATES  # noqa: E402
from wfdeploy.render.writer import render_stage  # noqa: E402
from wfdeploy.stages import known_stages, load_stage  # noqa: E402

SECURITY_GATES = ("policy-pack", "checkov", "connectivity")


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(stages: list[str]) -> None:
    totals = {name: [0.0, 0.0] for name in SECURITY_GATES}
    print(f"{'stage':<12}{'gate':<14}{'wall s':>8}{'cpu s':>8}  failures")
    with tempfile.TemporaryDirectory() as build:
        for stage_name in stages:
            stage = load_stage(stage_name)
            result = render_stage(stage, Path(build), run_gates=False)
            context = RenderContext(stage=stage, synthesis=result.synthesis, output_dir=result.output_dir)
            for name in SECURITY_GATES:
                wall, cpu = time.perf_counter(), cpu_seconds()
                failures = GATES[name](context)
                wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
                totals[name][0] += wall
                totals[name][1] += cpu
                print(f"{stage_name:<12}{name:<14}{wall:>8.2f}{cpu:>8.2f}  {len(failures)}")
    for name, (wall, cpu) in totals.items():
        print(f"{'all':<12}{name:<14}{wall:>8.2f}{cpu:>8.2f}")


if __name__ == "__main__":
    main(sys.argv[1:] or known_stages())
