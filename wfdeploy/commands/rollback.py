"""`wfdeploy rollback STAGE [--to RELEASE]`: re-deploy an earlier verified release with `pulumi up`."""

from __future__ import annotations

import argparse
import sys

from wfdeploy import automation as boundary
from wfdeploy.automation import AutomationError
from wfdeploy.commands.promote import add_confirmation
from wfdeploy.promotion import TOOL_FAILED, Deployer, Refusal
from wfdeploy.records import RecordStore
from wfdeploy.rollback import describe, rollback


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "rollback",
        help="re-deploy a release the stage verified before (config and image digest), with pulumi up",
        description="Default target: the newest release verified in STAGE that it does not run now (records/STAGE.json).",
    )
    parser.add_argument("stage", metavar="STAGE")
    parser.add_argument("--to", dest="release", metavar="RELEASE", help="release id (r-…) to go back to")
    parser.add_argument("--list", action="store_true", help="list the verified releases of STAGE and change nothing")
    add_confirmation(parser)
    parser.set_defaults(run=run, confirmed_stage=None)


def run(args: argparse.Namespace) -> int:
    records = RecordStore()
    if args.list:
        for entry in reversed(records.verified(args.stage)):
            print(describe(entry))
        return 0
    deployer = Deployer(boundary.default_automation(), records)
    try:
        outcome = rollback(deployer, args.stage, wanted=args.release, confirmed_stage=args.confirmed_stage)
    except AutomationError as error:
        print(f"rollback {args.stage}: {error}", file=sys.stderr)
        return TOOL_FAILED
    except Refusal as refusal:
        print(f"rollback {args.stage} refused: {refusal}", file=sys.stderr)
        return refusal.code
    print(outcome.message, file=sys.stdout if outcome.ok else sys.stderr)
    return outcome.code
