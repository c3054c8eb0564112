"""`wfdeploy down STAGE`: remove everything `wfdeploy up STAGE` created on this machine."""

from __future__ import annotations

import argparse
import sys

from wfdeploy.local.tier import LocalTierError, down
from wfdeploy.stages import stage_argument


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("down", help="remove the local tier's pods, secrets, volumes and stand-ins")
    parser.add_argument("stage", type=stage_argument, help="the stage `wfdeploy up` ran")
    parser.add_argument("--images", action="store_true", help="also remove the images that `up` built")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        if not down(args.stage, remove_images=args.images):
            print(f"the local tier of {args.stage!r} is not up: nothing to remove")
    except LocalTierError as error:
        print(f"down {args.stage}: {error}", file=sys.stderr)
        return 1
    return 0
