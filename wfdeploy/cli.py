"""`wfdeploy` command line: every verb lives in wfdeploy/commands/."""

from __future__ import annotations

import argparse
import sys

from wfdeploy import interrupts
from wfdeploy.commands import cluster, down, loadtest, preflight, promote, render, rollback, up, validate, verify

#: The verbs, in the order `wfdeploy --help` lists them.
VERBS = (validate, render, verify, up, down, loadtest, preflight, promote, rollback, cluster)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wfdeploy", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for verb in VERBS:
        verb.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one verb; SIGINT ends it with exit 130, SIGTERM with 143, after its clean-up, in one line."""
    with interrupts.handled():
        try:
            args = build_parser().parse_args(argv)
            return args.run(args)
        except interrupts.Interrupted as interrupted:
            print(f"wfdeploy: interrupted by {interrupted.signal_name}; stopped its tools, removed unfinished output",
                  file=sys.stderr)
            return interrupted.code


if __name__ == "__main__":
    sys.exit(main())
