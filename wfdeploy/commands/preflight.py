"""`wfdeploy preflight STAGE`: check the environment a change of STAGE needs, change nothing."""

from __future__ import annotations

import argparse
import sys

from components.config import LoadedStage
from wfdeploy.commands.prologue import with_stage
from wfdeploy.promotion import automation as boundary
from wfdeploy.promotion.preflight import format_failures, run_preflight
from wfdeploy.stages import stage_argument


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "preflight",
        help="check CLI version, kube context and version, CRDs/operators, AWS account and secrets of a stage",
    )
    parser.add_argument("stage", metavar="STAGE", type=stage_argument)
    parser.set_defaults(run=run)


@with_stage
def run(args: argparse.Namespace, loaded: LoadedStage) -> int:
    failures = run_preflight(loaded, boundary.default_automation())
    if failures:
        print(format_failures(args.stage, failures), file=sys.stderr)
        return 3
    print(f"preflight for stage {args.stage!r}: ok")
    return 0
