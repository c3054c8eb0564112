"""`wfdeploy cluster up|down|status`: an ephemeral control plane on 127.0.0.1 for real `pulumi up` runs."""

from __future__ import annotations

import argparse
import sys

from components.config import ConfigError
from wfdeploy.cluster import ClusterError, ClusterSettings, cluster_dir, down, up
from wfdeploy.cluster.control_plane import CLUSTER_NAME
from wfdeploy.cluster.processes import State
from wfdeploy.cluster.toolchain import ToolchainError
from wfdeploy.commands.prologue import BAD_INPUT, refused
from wfdeploy.stages import known_stages, load_stage


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "cluster", help="start or stop an ephemeral Kubernetes control plane on 127.0.0.1 (docs/real-control-plane.md)"
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    start = actions.add_parser("up", help="start etcd, the control plane and kwok nodes; install the pinned CRDs")
    start.add_argument("stages", nargs="*", metavar="STAGE",
                       help="stages whose kubeconfig context (cluster.context) and zones the cluster serves (default: all)")
    start.add_argument("--nodes", type=int, default=3, help="simulated (kwok) nodes to create (default 3)")
    start.add_argument("--timeout", type=float, default=240, help="seconds the whole start may take")
    actions.add_parser("down", help="stop everything `cluster up` started and remove its files")
    actions.add_parser("status", help="print the kubeconfig and processes of the running cluster")
    parser.set_defaults(run=run)


def settings_for(stages: list[str], nodes: int, timeout: float) -> ClusterSettings:
    """Contexts and zones come from the stages' stack files, so the stages run unchanged against the cluster."""
    contexts, zones = [CLUSTER_NAME], []
    for stage in stages or known_stages():
        cluster = load_stage(stage).config.cluster
        contexts += [cluster.context] if cluster.context not in contexts else []
        zones += [zone for zone in cluster.zones if zone not in zones]
    return ClusterSettings(contexts=tuple(contexts), zones=tuple(zones), nodes=nodes, timeout=timeout)


def run(args: argparse.Namespace) -> int:
    log = lambda message: print(message, flush=True)  # noqa: E731
    try:
        if args.action == "up":
            if args.nodes < 1:
                print("--nodes: expected at least 1", file=sys.stderr)
                return BAD_INPUT
            state = up(settings_for(args.stages, args.nodes, args.timeout), log)
            print(f"cluster up: {state.server}; export KUBECONFIG={state.kubeconfig} "
                  f"(contexts: {', '.join(state.contexts)}); stop it with `wfdeploy cluster down`")
        elif args.action == "down":
            if not down(log=log):
                print(f"no cluster is up in {cluster_dir()}: nothing to stop")
        else:
            state = State.load(cluster_dir().resolve())
            if state is None:
                print(f"no cluster is up in {cluster_dir()}")
                return 1
            print(f"server: {state.server}\nkubeconfig: {state.kubeconfig}\ncontexts: {', '.join(state.contexts)}")
            for process in state.processes:
                print(f"  {process.name:<24} pid {process.pid:<8} {'running' if process.alive() else 'NOT RUNNING'}")
    except ConfigError as error:
        return refused(error)
    except (ClusterError, ToolchainError) as error:
        print(f"cluster {args.action}: {error}", file=sys.stderr)
        return 1
    return 0
