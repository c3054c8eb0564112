"""`pulumi up` (or `destroy`) of one stack through the Automation API, recording when each engine event arrived.

Run by `real_deploy_bench.py` inside a workspace copy (PYTHONPATH=the copy), the same way
`wfdeploy.cluster.stack_driver up` runs the program (inline, real CLI, engine and plugins);
it writes a JSON timeline: `python benchmarks/engine_timeline.py up|destroy STAGE OUT.json [PARALLEL]`.
Times are wall-clock seconds (time.time()), so the caller can line them up with its own.
"""

from __future__ import annotations

import json
import sys
import time

STARTED = time.time()

from pulumi import automation as auto  # noqa: E402

from wfdeploy.cluster.stack_driver import PROJECT_NAME  # noqa: E402
from wfdeploy.paths import PROJECT_ROOT  # noqa: E402


def main() -> int:
    action, stage, out = sys.argv[1:4]
    parallel = int(sys.argv[4]) if len(sys.argv) > 4 else None
    timeline: dict = {"started": STARTED, "imported": time.time(), "events": [], "program": []}

    def program() -> None:
        timeline["program"].append(time.time())
        from components import program as platform_program  # the first call imports the components and SDKs

        platform_program.run()
        timeline["program"].append(time.time())

    def on_event(event: auto.EngineEvent) -> None:
        # the Automation API tails the CLI's event log every 0.1 s: arrival times are that precise
        now = time.time()
        for kind in ("resource_pre_event", "res_outputs_event", "res_op_failed_event"):
            step = getattr(event, kind)
            if step is not None:
                timeline["events"].append([now, kind, step.metadata.op, step.metadata.type, step.metadata.urn])
        if event.prelude_event is not None:
            timeline["prelude"] = now
        if event.summary_event is not None:
            timeline["summary"] = now

    stack = auto.select_stack(stack_name=stage, project_name=PROJECT_NAME, program=program,
                              opts=auto.LocalWorkspaceOptions(work_dir=str(PROJECT_ROOT), secrets_provider="passphrase"))
    timeline["selected"] = time.time()
    try:
        run = stack.up if action == "up" else stack.destroy
        run(on_event=on_event, color="never", parallel=parallel)
    except auto.CommandError as error:
        print(str(error), file=sys.stderr)
        return 1
    timeline["finished"] = time.time()
    with open(out, "w", encoding="utf-8") as file:
        json.dump(timeline, file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
