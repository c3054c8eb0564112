"""`wfdeploy rollback STAGE [--to RELEASE]`: re-deploy an earlier verified release with `pulumi up`."""

from __future__ import annotations

import argparse
import sys

from wfdeploy.commands.promote import add_confirmation, report
from wfdeploy.promotion import automation as boundary
from wfdeploy.promotion.deployer import REFUSED, Deployer
from wfdeploy.promotion.records import RecordsError, RecordStore
from wfdeploy.promotion.rollback import describe, rollback
from wfdeploy.stages import stage_argument


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "rollback",
        help="re-deploy a release the stage verified before (config and image digest), with pulumi up",
        description="Default target: the newest release verified in STAGE that it does not run now (records/STAGE.json).",
    )
    parser.add_argument("stage", metavar="STAGE", type=stage_argument)
    parser.add_argument("--to", dest="release", metavar="RELEASE", help="release id (r-…) to go back to")
    parser.add_argument("--list", action="store_true", help="list the verified releases of STAGE and change nothing")
    add_confirmation(parser)
    parser.set_defaults(run=run, confirmed_stage=None)


def run(args: argparse.Namespace) -> int:
    records = RecordStore()
    if args.list:
        try:
            verified = records.verified(args.stage)
        except RecordsError as error:
            print(f"rollback --list {args.stage}: {error}", file=sys.stderr)
            return REFUSED
        for entry in reversed(verified):
            print(describe(entry))
        return 0
    deployer = Deployer(boundary.default_automation(), records)
    return report(
        f"rollback {args.stage}",
        lambda: rollback(deployer, args.stage, wanted=args.release, confirmed_stage=args.confirmed_stage),
    )
