"""`wfdeploy promote FROM TO`: move FROM's verified release one stage along the chain."""

from __future__ import annotations

import argparse
import sys
from typing import Callable

from wfdeploy.promotion import automation as boundary
from wfdeploy.promotion.automation import AutomationError
from wfdeploy.promotion.deployer import CHECKOUT, FAILED, TOOL_FAILED, Deployer, Outcome, Refusal
from wfdeploy.promotion.records import RecordsError, RecordStore
from wfdeploy.stages import stage_argument


def add_confirmation(parser: argparse.ArgumentParser) -> None:
    confirm = parser.add_mutually_exclusive_group()
    confirm.add_argument(
        "--yes-i-mean-production",
        dest="confirmed_stage",
        action="store_const",
        const="production",
        help="required to change production (promotion.requireConfirmation)",
    )
    confirm.add_argument(
        "--confirm-stage", dest="confirmed_stage", metavar="STAGE", type=stage_argument, help="confirm changing STAGE")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "promote",
        # not the chain itself: building the parser for any command must not read every stack file
        help=f"promote a verified release one stage along the chain ({CHECKOUT} into its first stage; "
        "the stack files' promotion.previousStage define it)",
        description="Preflight, preview, `pulumi up`, `wfdeploy verify` and record, one stage at a time.",
    )
    parser.add_argument(
        "source", metavar="FROM", type=stage_argument,
        help=f"stage whose verified release moves on, or {CHECKOUT!r} (into alpha)",
    )
    parser.add_argument("target", metavar="TO", type=stage_argument, help="the next stage of the chain")
    parser.add_argument("--image", help=f"with {CHECKOUT!r}: the digest-pinned workflow image to deploy (CI's build)")
    add_confirmation(parser)
    parser.set_defaults(run=run, confirmed_stage=None)


def report(label: str, action: Callable[[], Outcome]) -> int:
    """Run a promotion or rollback and turn its outcome, refusal or tool failure into output and an exit code."""
    try:
        outcome = action()
    except AutomationError as error:
        print(f"{label}: {error}", file=sys.stderr)
        return TOOL_FAILED
    except Refusal as refusal:
        print(f"{label} refused: {refusal}", file=sys.stderr)
        return refusal.code
    except RecordsError as error:  # checked before any change, so this is a write that failed after one
        print(f"{label}: the stage was changed but the record of it could not be written: {error}; "
              "make the records writable and re-run the command", file=sys.stderr)
        return FAILED
    print(outcome.message, file=sys.stdout if outcome.ok else sys.stderr)
    return outcome.code


def run(args: argparse.Namespace) -> int:
    deployer = Deployer(boundary.default_automation(), RecordStore())
    return report(
        f"promote {args.source} -> {args.target}",
        lambda: deployer.promote(args.source, args.target, confirmed_stage=args.confirmed_stage, image=args.image),
    )
