"""`wfdeploy render STAGE | --all`: synthesize offline, write build/<stage>/, run the gates."""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import multiprocessing
import multiprocessing.util
import os
import sys
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping

from components.config import ConfigError
from components.config.image_digests import RESOLVE_DOC, placeholder_problems
from wfdeploy import interrupts
from wfdeploy import stages as stage_files
from wfdeploy.commands.prologue import BAD_INPUT
from wfdeploy.paths import build_dir
from wfdeploy.render.context import Gate, GateFailure, RenderError
from wfdeploy.render import synth
from wfdeploy.render.gates import GATES, checkov, connectivity
from wfdeploy.render.writer import render_stage
from wfdeploy.stages import known_stages, load_stage, stage_argument


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("render", help="synthesize stages offline into build/<stage>/ and run the gates")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("stage", nargs="?", type=stage_argument, help="stage name, i.e. stacks/Pulumi.<stage>.yaml")
    target.add_argument("--all", action="store_true", help="every stage in stacks/")
    parser.add_argument("--skip-gates", action="store_true", help="write the output without checking it")
    parser.set_defaults(run=run)


#: Exit codes: a failed gate or synthesis is 1; bad input (a refused stack file) is BAD_INPUT, as for every verb.
OK, FAILED = 0, 1


@dataclass
class StageReport:
    """What rendering one stage found, before it is printed (a pool worker sends it back to be completed)."""

    stage: str
    code: int = OK
    refused: str = ""  #: a refused stack file or failed render: the message, and nothing else is reported
    summary: str = ""
    manifests: Path | None = None
    gate_results: dict[str, list[GateFailure]] = field(default_factory=dict)

    def lines(self) -> tuple[int, str, str]:
        """(exit code, report for stdout, problems for stderr)."""
        if self.refused:
            return self.code, "", self.refused
        out, err = io.StringIO(), io.StringIO()
        print(self.summary, file=out, end="")
        for gate_name, failures in self.gate_results.items():
            if failures:
                print(f"  FAIL {gate_name}: {len(failures)} problem(s)", file=err)
                for failure in failures:
                    print(f"    - {failure}", file=err)
            else:
                print(f"  ok   {gate_name}", file=out)
        return (OK if not any(self.gate_results.values()) else FAILED), out.getvalue(), err.getvalue()


#: The gates of a stage whose checkov scan runs in the one imported checkov (`checkov.send_stage`).
GATES_SCANNED_LATER = {**GATES, "checkov": checkov.skip_annotations}


def report_one(stage_name: str, run_gates: bool, gates: Mapping[str, Gate] = GATES) -> StageReport:
    """Render one stage and report what it found."""
    started = time.perf_counter()
    try:
        loaded = load_stage(stage_name)
        result = render_stage(loaded, build_dir(), run_gates=run_gates, gates=gates)
    except ConfigError as error:
        return StageReport(stage_name, BAD_INPUT, refused=f"{error}\n")
    except RenderError as error:
        return StageReport(stage_name, FAILED, refused=f"{error}\n")
    elapsed = time.perf_counter() - started
    summary = f"{stage_name}: {len(result.synthesis.resources)} resources -> {result.output_dir} ({elapsed:.2f}s)\n"
    unresolved = [problem.path.rsplit(".", 1)[-1] for problem in placeholder_problems(loaded.config)]
    if unresolved:
        # rendered all the same (every stage must render); `pulumi up` and `validate --deployable` refuse them
        summary += f"  note placeholder image digests, not deployable until resolved ({RESOLVE_DOC}): {', '.join(unresolved)}\n"
    return StageReport(stage_name, summary=summary, manifests=result.output_dir / "manifests",
                       gate_results=dict(result.gate_results))


def render_one(stage_name: str, run_gates: bool) -> tuple[int, str, str]:
    """Render one stage; return (exit code, report for stdout, problems for stderr)."""
    return report_one(stage_name, run_gates).lines()


def _start_worker(run_gates: bool) -> None:
    """A pool worker's start: signals become `Interrupted`; nca is imported while the first stage is synthesized,
    once for all the worker's stages, and stopped when the worker ends."""
    interrupts.install()
    if run_gates:
        connectivity.start_nca()
        multiprocessing.util.Finalize(None, connectivity.stop_nca, exitpriority=0)


def _render_in_worker(stage_name: str, run_gates: bool) -> StageReport:
    """`report_one` in a pool worker, checkov left to the one scan of every stage: an interrupted worker ends
    (after its clean-up ran), it takes no next stage."""
    try:
        return report_one(stage_name, run_gates, GATES_SCANNED_LATER if run_gates else GATES)
    except interrupts.Interrupted as interrupted:
        connectivity.stop_nca()
        os._exit(interrupted.code)


#: Seconds an interrupted worker has to kill its tools and remove its folder before it is killed.
WORKER_STOP_SECONDS = 10


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Signal every worker to end and wait for it, so that none outlives the command (or holds its stdout)."""
    processes = list((pool._processes or {}).values())  # Python 3.14 has terminate_workers(); 3.11 only this
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(WORKER_STOP_SECONDS)
        if process.is_alive():
            process.kill()
            process.join()


def _result(future: Future) -> StageReport:
    """The future's result, waited for in slices so that a signal another thread received is handled soon."""
    while True:
        try:
            return future.result(timeout=interrupts.WAIT_SLICE_SECONDS)
        except FutureTimeout:
            continue


def _complete_checkov(reports: list[StageReport], scan: checkov.PendingScan | None) -> None:
    """Complete each stage's checkov gate with its scan's findings, in the gate's place of the report."""
    scanned = [report.stage for report in reports if "checkov" in report.gate_results]
    if not scanned:
        return
    found = checkov.scan_results(scan, scanned)
    for report in reports:
        if report.stage in found:
            report.gate_results["checkov"] = report.gate_results["checkov"] + found[report.stage]


def _worker_context() -> multiprocessing.context.BaseContext:
    """How pool workers start: as forks of this process, which has imported the renderer already, unless it has
    run a Pulumi program (tests do; its event loop and gRPC state must not be copied) or runs threads; then as
    forks of one fresh forkserver that imports the renderer once (a spawned worker imports it again, ~1 s each)."""
    if not synth.ran_a_program() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


#: Allocations between two young-generation collections in the workers (Python's default is 700): a render is a
#: short batch job that allocates a great many small objects and frees them at the end.
WORKER_GC_THRESHOLD = 50_000


@contextlib.contextmanager
def _collector_set_for_forks() -> Iterator[None]:
    """While workers are forked from this process: what it has imported is out of the collector's sight (gc.freeze,
    as for prefork servers), so the workers' collections never walk the inherited modules and their pages stay
    shared, and they collect less often. Afterwards this process collects as before (a caller may be pytest)."""
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(WORKER_GC_THRESHOLD, *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()


def _render_all(stages: list[str], run_gates: bool) -> list[tuple[int, str, str]]:
    """Stages are independent: render them in parallel processes (each has its own mock engine), and scan each
    with one checkov import, started while they are synthesized (its start-up is most of its time)."""
    workers = min(len(stages), os.cpu_count() or 1)
    if workers < 2:
        return [render_one(stage, run_gates) for stage in stages]
    context = _worker_context()
    with _collector_set_for_forks() if context.get_start_method() == "fork" else contextlib.nullcontext():
        return _render_in_pool(stages, run_gates, context, workers)


def _render_in_pool(stages: list[str], run_gates: bool, context: multiprocessing.context.BaseContext,
                    workers: int) -> list[tuple[int, str, str]]:
    """Render the stages in `workers` pool workers, each stage's checkov scan sent once its worker reports it."""
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context,
                               initializer=_start_worker, initargs=(run_gates,))
    try:
        # the first submit starts every worker; forked before checkov starts, none holds its stdin open
        futures = [pool.submit(_render_in_worker, stage, run_gates) for stage in stages]
        with checkov.started_scan() if run_gates else contextlib.nullcontext() as scan:
            reports = []
            for future in futures:
                reports.append(_result(future))
                if "checkov" in reports[-1].gate_results:
                    checkov.send_stage(scan, reports[-1].stage, reports[-1].manifests)
            _complete_checkov(reports, scan)
    except BaseException:
        _stop_workers(pool)
        raise
    pool.shutdown()
    return [report.lines() for report in reports]


def run(args: argparse.Namespace) -> int:
    stages = known_stages() if args.all else [args.stage]
    if not stages:
        print(f"render --all: no stack files (Pulumi.<stage>.yaml) in {stage_files.STACKS_DIR}: nothing to render",
              file=sys.stderr)
        return BAD_INPUT
    results = _render_all(stages, run_gates=not args.skip_gates)
    for _, out, err in results:
        sys.stdout.write(out)
        sys.stderr.write(err)
    return max(code for code, _, _ in results)
