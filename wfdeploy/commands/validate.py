"""`wfdeploy validate STAGE [--deployable]`: check a stage's configuration, declare nothing."""

from __future__ import annotations

import argparse
import sys

from components.config import LoadedStage
from components.config.image_digests import placeholder_problems
from components.config.secrets import OPERATOR_SECRETS
from wfdeploy.commands.prologue import with_stage
from wfdeploy.stages import stage_argument


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("validate", help="validate a stage's configuration (stack file) only")
    parser.add_argument("stage", type=stage_argument, help="stage name, i.e. stacks/Pulumi.<stage>.yaml")
    parser.add_argument(
        "--deployable",
        action="store_true",
        help="also require every operator secret the stage needs (reads the values through the Pulumi CLI) "
        "and refuse placeholder image digests",
    )
    parser.set_defaults(run=run)


def _secrets_set(stage: str) -> dict[str, bool]:
    """Which operator secrets the stack has, asked of the Pulumi boundary (values are never printed)."""
    from wfdeploy.promotion import automation as boundary

    keys = boundary.default_automation().configured_keys(stage)
    return {secret.key: f"workflow-platform:{secret.key}" in keys for secret in OPERATOR_SECRETS}


@with_stage
def run(args: argparse.Namespace, loaded: LoadedStage) -> int:
    if args.deployable:
        try:
            present = _secrets_set(args.stage)
        except RuntimeError as error:
            print(f"validate --deployable {args.stage}: {error}", file=sys.stderr)
            return 2
        missing = [s for s in OPERATOR_SECRETS if s.required_when(loaded.config) and not present.get(s.key)]
        placeholders = placeholder_problems(loaded.config)
        if missing:
            print(f"stage {args.stage!r} is not deployable: {len(missing)} required secret(s) not set:", file=sys.stderr)
            for secret in missing:
                print(
                    f"  - workflow-platform:{secret.key}: {secret.description}; set it with "
                    f"`pulumi config set --secret --stack {args.stage} {secret.key}`",
                    file=sys.stderr,
                )
        if placeholders:
            print(f"stage {args.stage!r} is not deployable: {len(placeholders)} placeholder image digest(s):", file=sys.stderr)
            for problem in placeholders:
                print(f"  - {problem.path}: {problem.message}", file=sys.stderr)
        if missing or placeholders:
            return 1
    print(f"stage {args.stage!r}: configuration is valid" + (" and deployable" if args.deployable else ""))
    return 0
