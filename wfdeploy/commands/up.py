"""`wfdeploy up STAGE`: run the stage's own workloads under podman on this machine (the local tier)."""

from __future__ import annotations

import argparse
import sys
import time

from components.config import LoadedStage
from wfdeploy.commands.prologue import with_stage
from wfdeploy.local.tier import LocalTierError, up
from wfdeploy.stages import stage_argument


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "up", help="run the stage's workloads under `podman kube play` (local tier; see docs/local-tier.md)"
    )
    parser.add_argument("stage", type=stage_argument, help="a stage with a localTier section, e.g. local")
    parser.add_argument("--no-jobs", action="store_true", help="do not run each CronJob's pod template once")
    parser.add_argument("--ready-timeout", type=float, default=120, help="seconds a pod may take to become ready")
    parser.set_defaults(run=run)


@with_stage
def run(args: argparse.Namespace, loaded: LoadedStage) -> int:
    started = time.monotonic()
    try:
        result = up(loaded, run_jobs=not args.no_jobs, ready_timeout=args.ready_timeout,
                    log=lambda message: print(message, flush=True))
    except LocalTierError as error:
        print(f"up {args.stage}: {error}", file=sys.stderr)
        print(f"what was created is recorded; remove it with `wfdeploy down {args.stage}`", file=sys.stderr)
        return 1
    for note in result.state.skipped:
        print(f"note: {note}")
    failed = [job for job in result.state.job_runs if job.exit_code != 0]
    for job in failed:
        print(f"job {job.pod} ({job.source}) FAILED with exit {job.exit_code}; log: {job.log_file}", file=sys.stderr)
    print(f"up {args.stage}: {len(result.state.pods)} pod(s) in {time.monotonic() - started:.0f}s; "
          f"check with `wfdeploy verify {args.stage}`, remove with `wfdeploy down {args.stage}`")
    return 1 if failed else 0
