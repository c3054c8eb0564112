"""Drive one stack with the real Pulumi CLI and engine, the program served in-process (Automation API).

`python -m wfdeploy.cluster.stack_driver ACTION STAGE` where ACTION is
`init`, `preview`, `up`, `destroy` or `outputs`. The program is this checkout's
`components.program.run`, handed to the CLI as an inline program: the CLI,
engine, policy pack and provider plugins are the real ones, but no
`pulumi-language-python` host is needed (it cannot be built from the module
proxy, see docs/real-control-plane.md). Exit 0 on success, 1 when Pulumi
reports a failure (its message on stderr, never a traceback), 2 on bad usage.
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from wfdeploy.paths import PROJECT_ROOT

PROJECT_NAME = "workflow-platform"


def _program() -> None:
    from components import program

    program.run()


def _stack(stage: str):
    from pulumi import automation as auto

    options = auto.LocalWorkspaceOptions(work_dir=str(PROJECT_ROOT), secrets_provider="passphrase")
    return auto.create_or_select_stack(stack_name=stage, project_name=PROJECT_NAME, program=_program, opts=options)


@contextmanager
def policy_pack_launcher(pack: Path = PROJECT_ROOT / "policies") -> Iterator[str]:
    """An executable that serves the policy pack to the engine, for `--policy-pack`.

    Given a folder, the CLI asks the pack's language host (`pulumi-language-python`) to run it; given an
    executable file, it runs that as the analyzer plugin. pulumi_policy's PolicyPack serves the analyzer
    protocol itself, so the launcher only starts the pack's `__main__.py` with this virtualenv's Python.
    """
    with tempfile.TemporaryDirectory(prefix="wfdeploy-policy-pack-") as folder:
        launcher = Path(folder) / "run-policy-pack"
        launcher.write_text(f"#!/bin/sh\ncd {shlex.quote(str(pack))} && exec {shlex.quote(sys.executable)} -u __main__.py \"$@\"\n")
        launcher.chmod(0o700)
        yield str(launcher)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wfdeploy.cluster.stack_driver", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("init", "preview", "up", "destroy", "outputs"))
    parser.add_argument("stage")
    parser.add_argument("--policy-pack", action="store_true", help="preview/up with the CrossGuard pack in policies/")
    parser.add_argument("--expect-no-changes", action="store_true", help="preview/up fails if anything would change")
    parser.add_argument("--diff", action="store_true", help="(preview) show the property-level diff")
    parser.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                        help="(init) set a plain config value by path, e.g. workflow-platform:substitutions.chartReleases=crds-only")
    args = parser.parse_args(argv)

    # Ctrl-C reaches the CLI too (same process group): it finishes in-flight operations and records them,
    # which needs this process to keep serving the program until the CLI exits
    signal.signal(signal.SIGINT, lambda signum, frame: print("interrupted: pulumi finishes in-flight operations",
                                                             file=sys.stderr, flush=True))
    with policy_pack_launcher() as launcher:
        return _run(args, [launcher] if args.policy_pack else None)


def _run(args: argparse.Namespace, packs: list[str] | None) -> int:
    from pulumi import automation as auto

    try:
        stack = _stack(args.stage)
        if args.action == "init":
            for assignment in args.config:
                key, _, value = assignment.partition("=")
                stack.set_config(key, auto.ConfigValue(value=value, secret=False), path=True)
        elif args.action == "preview":
            result = stack.preview(policy_packs=packs, expect_no_changes=args.expect_no_changes or None,
                                   diff=args.diff or None, on_output=print, color="never")
            print(json.dumps({"changeSummary": result.change_summary}, sort_keys=True))
        elif args.action == "up":
            result = stack.up(policy_packs=packs, expect_no_changes=args.expect_no_changes or None,
                              on_output=print, color="never")
            print(json.dumps({"result": result.summary.result, "resourceChanges": result.summary.resource_changes},
                             sort_keys=True))
        elif args.action == "destroy":
            stack.destroy(on_output=print, color="never")
        else:
            print(json.dumps({name: output.value for name, output in stack.outputs().items()}, sort_keys=True, default=str))
    except auto.CommandError as error:
        # the CLI's own report (stdout + stderr) is the message; the Python stack is noise
        print(str(error), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
