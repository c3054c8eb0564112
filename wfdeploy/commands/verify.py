"""`wfdeploy verify STAGE`: run the post-deploy suite against a deployed stage and record the verdict."""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

from components.config import LoadedStage
from wfdeploy.commands.prologue import with_stage
from wfdeploy.local.tier import LocalTierError, TierState
from wfdeploy.paths import build_dir
from wfdeploy.stages import stage_argument
from wfdeploy.verification.inventory import Inventory
from wfdeploy.verification.verify import VerifyResult, result_dir, verify, write_result


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verify", help="check a deployed stage (testinfra + HTTP + Prometheus); writes build/results/<stage>/verify/"
    )
    parser.add_argument("stage", type=stage_argument, help="stage name, i.e. stacks/Pulumi.<stage>.yaml")
    parser.add_argument(
        "--inventory", type=Path,
        help="verify the hosts and endpoints of this inventory JSON instead of discovering the stage's pods",
    )
    parser.add_argument("--context", help="kubeconfig context (default: the stage's cluster.context)")
    parser.set_defaults(run=run)


def _release(loaded) -> dict | None:
    """The release this checkout declares for the stage (image digest, charts, config hash)."""
    try:
        from components.release import release_of

        return release_of(loaded.config.images.workflow_service).to_dict()
    except Exception as error:  # a record without release identity still records pass/fail
        print(f"verify: release identity unavailable ({error})", file=sys.stderr)
        return None


def _discover(loaded, context: str | None):
    from wfdeploy.verification.cluster import cluster_inventory, port_forwards

    context = context or loaded.config.cluster.context
    with port_forwards(loaded, context) as forwarded:
        inventory = cluster_inventory(loaded, forwarded)
        yield inventory


def _local_tier_up(stage: str) -> bool:
    return TierState.load(stage) is not None


@with_stage
def run(args: argparse.Namespace, loaded: LoadedStage) -> int:
    try:
        local_tier_up = not args.inventory and _local_tier_up(args.stage)
    except LocalTierError as error:
        print(f"verify {args.stage}: {error}", file=sys.stderr)
        return 2
    release = _release(loaded)
    if local_tier_up:
        # the stage runs under podman on this machine (wfdeploy up): podman:// hosts instead of kubectl://
        from wfdeploy.verification.local import verify_local

        result = verify_local(loaded, release)
    elif args.inventory:
        inventory = Inventory.read(args.inventory)
        if inventory.stage != args.stage:
            print(f"inventory {args.inventory} is for stage {inventory.stage!r}, not {args.stage!r}", file=sys.stderr)
            return 2
        result = verify(inventory, build_dir(), release)
    else:
        try:
            discovery = _discover(loaded, args.context)
            inventory = next(discovery)
            try:
                result = verify(inventory, build_dir(), release)
            finally:
                discovery.close()
        except (RuntimeError, OSError) as error:
            result = VerifyResult(
                stage=args.stage, started=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                duration_seconds=0.0, release=release, error=f"could not reach the stage: {error}",
            )
            write_result(result, result_dir(build_dir(), args.stage))
    print(result.summary(), end="")
    print(f"recorded in {result_dir(build_dir(), args.stage)}")
    return 0 if result.passed else 1
