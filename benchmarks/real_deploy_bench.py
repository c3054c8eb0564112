"""`pulumi up` of a stage beside `kubectl apply --server-side` of its rendered manifests, on one API server.

Starts `wfdeploy cluster up`, deploys STAGE (default `local`, charts as CRDs only) with the real CLI
and engine, times a no-op `pulumi preview`, destroys it, then applies the same rendered manifests
with kubectl (server-side) to the same cluster; prints the figures and the ratio, and stops the cluster.
Goal: ratio <= 2, no-op preview < 15 s. Run: .venv/bin/python benchmarks/real_deploy_bench.py [STAGE]
Needs the toolchain on PATH or in $WFDEPLOY_TOOLCHAIN_BIN, and kubectl.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dataclasses import replace  # noqa: E402

from wfdeploy.cluster import running  # noqa: E402
from wfdeploy.cluster.offline_pulumi import offline_env, workspace_copy  # noqa: E402
from wfdeploy.cluster.toolchain import search_path  # noqa: E402
from wfdeploy.commands.cluster import settings_for  # noqa: E402

PASSPHRASE = "benchmark-stacks-only"


def timed(what: str, command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.monotonic()
    completed = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    if completed.returncode != 0:
        sys.exit(f"{what} failed (exit {completed.returncode}):\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}")
    return elapsed


def main() -> int:
    stage = sys.argv[1] if len(sys.argv) > 1 else "local"
    with tempfile.TemporaryDirectory(prefix="real-deploy-bench-") as scratch:
        root = Path(scratch)
        with running(replace(settings_for([stage], nodes=3, timeout=240), directory=root / "cluster"), log=print) as state:
            project = workspace_copy(root)
            env = offline_env(root / "state", state.kubeconfig, PASSPHRASE, base={**os.environ, "PATH": search_path()})
            env["WFDEPLOY_BUILD_DIR"] = str(project / "build")
            driver = [sys.executable, "-m", "wfdeploy.cluster.stack_driver"]
            timed("init", [*driver, "init", stage, "--config=workflow-platform:substitutions.chartReleases=crds-only"],
                  project, env)
            timed("render", [sys.executable, "-m", "wfdeploy", "render", stage, "--skip-gates"], project, env)
            up = timed("pulumi up", [*driver, "up", stage], project, env)
            noop = timed("no-op preview", [*driver, "preview", stage, "--expect-no-changes"], project, env)
            timed("pulumi destroy", [*driver, "destroy", stage], project, env)
            manifests = project / "build" / stage / "manifests"
            # cluster-scoped objects (the namespaces) first, then each namespace's folder, as Pulumi orders them
            folders = sorted(manifests.iterdir(), key=lambda folder: folder.name != "cluster")
            apply = timed("kubectl apply", ["kubectl", "apply", "--server-side", "-R",
                                            *[f"-f={folder}" for folder in folders]], project, env)
            count = sum(1 for _ in manifests.rglob("*.yaml"))
    print(f"stage {stage}: pulumi up {up:.1f} s; kubectl apply --server-side {apply:.1f} s "
          f"({count} objects); ratio {up / apply:.2f} (goal <= 2)")
    print(f"no-op pulumi preview: {noop:.1f} s (goal < 15 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
