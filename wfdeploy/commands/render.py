"""`wfdeploy render STAGE | --all`: synthesize offline, write build/<stage>/, run the gates."""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import sys
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from components.config import ConfigError
from components.config.image_digests import RESOLVE_DOC, placeholder_problems
from wfdeploy import interrupts
from wfdeploy import stages as stage_files
from wfdeploy.commands.prologue import BAD_INPUT
from wfdeploy.paths import build_dir
from wfdeploy.render.context import RenderError
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


def render_one(stage_name: str, run_gates: bool) -> tuple[int, str, str]:
    """Render one stage; return (exit code, report for stdout, problems for stderr)."""
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    try:
        loaded = load_stage(stage_name)
        result = render_stage(loaded, build_dir(), run_gates=run_gates)
    except ConfigError as error:
        print(error, file=err)
        return BAD_INPUT, out.getvalue(), err.getvalue()
    except RenderError as error:
        print(error, file=err)
        return FAILED, out.getvalue(), err.getvalue()
    elapsed = time.perf_counter() - started
    print(f"{stage_name}: {len(result.synthesis.resources)} resources -> {result.output_dir} ({elapsed:.2f}s)", file=out)
    unresolved = [problem.path.rsplit(".", 1)[-1] for problem in placeholder_problems(loaded.config)]
    if unresolved:
        # rendered all the same (every stage must render); `pulumi up` and `validate --deployable` refuse them
        print(f"  note placeholder image digests, not deployable until resolved ({RESOLVE_DOC}): {', '.join(unresolved)}", file=out)
    for gate_name, failures in result.gate_results.items():
        if failures:
            print(f"  FAIL {gate_name}: {len(failures)} problem(s)", file=err)
            for failure in failures:
                print(f"    - {failure}", file=err)
        else:
            print(f"  ok   {gate_name}", file=out)
    return (OK if result.ok else FAILED), out.getvalue(), err.getvalue()


def _render_in_worker(stage_name: str, run_gates: bool) -> tuple[int, str, str]:
    """`render_one` in a pool worker: an interrupted worker ends (after its clean-up ran), it takes no next stage."""
    try:
        return render_one(stage_name, run_gates)
    except interrupts.Interrupted as interrupted:
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


def _result(future: Future) -> tuple[int, str, str]:
    """The future's result, waited for in slices so that a signal another thread received is handled soon."""
    while True:
        try:
            return future.result(timeout=interrupts.WAIT_SLICE_SECONDS)
        except FutureTimeout:
            continue


def _render_all(stages: list[str], run_gates: bool) -> list[tuple[int, str, str]]:
    """Stages are independent: render them in parallel processes (each has its own mock engine)."""
    workers = min(len(stages), os.cpu_count() or 1)
    if workers < 2:
        return [render_one(stage, run_gates) for stage in stages]
    # spawn, not fork: the Pulumi runtime holds event loops and gRPC state a fork must not inherit
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=interrupts.install
    )
    try:
        futures = [pool.submit(_render_in_worker, stage, run_gates) for stage in stages]
        results = [_result(future) for future in futures]
    except BaseException:
        _stop_workers(pool)
        raise
    pool.shutdown()
    return results


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
