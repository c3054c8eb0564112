"""`wfdeploy loadtest STAGE`: Locust against the stage, judged by Prometheus against the production targets."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys

from components.config import LoadedStage
from components.config.types import duration_seconds
from wfdeploy.commands.prologue import with_stage
from wfdeploy.paths import results_dir
from wfdeploy.stages import stage_argument
from wfdeploy.verification.loadtest import CpuSource, LoadTestPlan, Targets, load_test


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "loadtest", help="drive the configured request mix (Locust) and judge the targets from Prometheus"
    )
    parser.add_argument("stage", type=stage_argument, help="stage name, i.e. stacks/Pulumi.<stage>.yaml")
    parser.add_argument("--target-url", help="base URL to load (default: verification.loadTest.targetUrl or the edge)")
    parser.add_argument("--prometheus-url", help="Prometheus to judge from (default: port-forward to the stage's)")
    parser.add_argument("--users", type=int, help="override verification.loadTest.users")
    parser.add_argument("--spawn-rate", type=float, help="override verification.loadTest.spawnRate")
    parser.add_argument("--duration", help="override verification.loadTest.duration, e.g. 20s or 5m")
    parser.add_argument("--think-time", type=float, help="override verification.loadTest.thinkTimeSeconds")
    parser.add_argument(
        "--cpu-source", default="cadvisor",
        help="cadvisor (cluster, default), process-metric (process_cpu_seconds_total) or pid:N (/proc/N/stat)",
    )
    parser.add_argument(
        "--scrape-timeout", type=float, default=None,
        help="seconds to wait for Prometheus to scrape after the load (default: 2 scrape intervals + 5)",
    )
    parser.set_defaults(run=run)


@contextlib.contextmanager
def _prometheus(loaded, url: str | None):
    if url:
        yield url
        return
    from wfdeploy.verification.cluster import port_forwards

    with port_forwards(loaded, loaded.config.cluster.context) as forwarded:
        yield forwarded["prometheus"]


@with_stage
def run(args: argparse.Namespace, loaded: LoadedStage) -> int:
    out_dir = results_dir(args.stage) / "loadtest"
    try:
        plan = plan_for(args, loaded.config, prometheus_url="")
    except ValueError as error:
        print(f"loadtest: {error}", file=sys.stderr)
        return 2
    try:
        with _prometheus(loaded, args.prometheus_url) as prometheus_url:
            result = load_test(dataclasses.replace(plan, prometheus_url=prometheus_url), out_dir)
    except (OSError, RuntimeError) as error:
        print(f"loadtest {args.stage}: could not reach the stage's Prometheus: {error}", file=sys.stderr)
        return 2
    print(result.summary(), end="")
    print(f"recorded in {out_dir}")
    return 0 if result.passed else 1


def plan_for(args: argparse.Namespace, config, prometheus_url: str) -> LoadTestPlan:
    """The stage's `verification.loadTest` settings with the command line's overrides."""
    settings = config.verification.load_test
    scheme = "https" if config.edge.tls.enabled else "http"
    scrape = duration_seconds(config.monitoring.prometheus.scrape_interval)
    return LoadTestPlan(
        stage=config.stage,
        target_url=args.target_url or settings.target_url or f"{scheme}://{config.edge.hostname}",
        prometheus_url=prometheus_url,
        users=args.users or settings.users,
        spawn_rate=args.spawn_rate or settings.spawn_rate,
        run_seconds=duration_seconds(args.duration or settings.duration),
        think_seconds=settings.think_time_seconds if args.think_time is None else args.think_time,
        request_mix=dict(settings.request_mix),
        selector=settings.service_selector,
        targets=Targets.from_config(config),
        cpu=CpuSource.parse(args.cpu_source, config),
        scrape_timeout_seconds=args.scrape_timeout if args.scrape_timeout is not None else 2 * scrape + 5,
    )
