"""`wfdeploy render STAGE | --all`: synthesize offline, write build/<stage>/, run the gates."""

from __future__ import annotations

import argparse
import sys
import time

from components.config import ConfigError
from wfdeploy.paths import build_dir
from wfdeploy.render import RenderError, render_stage
from wfdeploy.stages import known_stages, load_stage


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("render", help="synthesize stages offline into build/<stage>/ and run the gates")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("stage", nargs="?", help="stage name, i.e. stacks/Pulumi.<stage>.yaml")
    target.add_argument("--all", action="store_true", help="every stage in stacks/")
    parser.add_argument("--skip-gates", action="store_true", help="write the output without checking it")
    parser.set_defaults(run=run)


def render_one(stage_name: str, run_gates: bool) -> bool:
    started = time.perf_counter()
    try:
        result = render_stage(load_stage(stage_name), build_dir(), run_gates=run_gates)
    except (ConfigError, RenderError) as error:
        print(error, file=sys.stderr)
        return False
    elapsed = time.perf_counter() - started
    print(f"{stage_name}: {len(result.synthesis.resources)} resources -> {result.output_dir} ({elapsed:.2f}s)")
    for gate_name, failures in result.gate_results.items():
        if failures:
            print(f"  FAIL {gate_name}: {len(failures)} problem(s)", file=sys.stderr)
            for failure in failures:
                print(f"    - {failure}", file=sys.stderr)
        else:
            print(f"  ok   {gate_name}")
    return result.ok


def run(args: argparse.Namespace) -> int:
    stages = known_stages() if args.all else [args.stage]
    results = [render_one(stage, run_gates=not args.skip_gates) for stage in stages]
    return 0 if all(results) else 1
