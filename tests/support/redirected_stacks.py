"""Run the `wfdeploy` console script in a child process against a stacks folder of the test's own.

`render --all` spawns worker processes that import `wfdeploy.paths` afresh, so a
monkeypatch in the test process never reaches them. A `sitecustomize` module on
PYTHONPATH runs in every interpreter the child starts, workers included, and
points `STACKS_DIR` at the test's folder; it can also pin the CPU count so that
the process pool is used on any machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_SITECUSTOMIZE = '''\
import os
from pathlib import Path

if os.environ.get("WFDEPLOY_TEST_STACKS_DIR"):
    import wfdeploy.paths

    wfdeploy.paths.STACKS_DIR = Path(os.environ["WFDEPLOY_TEST_STACKS_DIR"])
if os.environ.get("WFDEPLOY_TEST_CPU_COUNT"):
    _cpus = int(os.environ["WFDEPLOY_TEST_CPU_COUNT"])
    os.cpu_count = lambda: _cpus
'''


def run_wfdeploy(args: list[str], stacks_dir: Path, build_dir: Path, site_dir: Path, cpus: int = 2) -> subprocess.CompletedProcess:
    """`wfdeploy ARGS` with stacks from `stacks_dir` and output under `build_dir`; returns the finished process."""
    site_dir.mkdir(parents=True, exist_ok=True)
    (site_dir / "sitecustomize.py").write_text(_SITECUSTOMIZE)
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(site_dir), os.environ.get("PYTHONPATH")])),
        WFDEPLOY_TEST_STACKS_DIR=str(stacks_dir),
        WFDEPLOY_TEST_CPU_COUNT=str(cpus),
        WFDEPLOY_BUILD_DIR=str(build_dir),
    )
    script = Path(sys.executable).parent / "wfdeploy"
    return subprocess.run([str(script), *args], capture_output=True, text=True, env=env, timeout=300, check=False)
