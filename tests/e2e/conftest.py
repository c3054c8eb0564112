"""The real-deployment tier: one ephemeral control plane for the session, started and stopped by the CLI.

The toolchain (etcd, the Kubernetes control plane, kwok, the Pulumi CLI and plugins) comes from
$WFDEPLOY_TOOLCHAIN_BIN, else from PATH, else `scripts/build-toolchain` builds it (cached by its pins).
A missing toolchain is a failure, never a skip: this tier is what proves `pulumi up` works.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.stagehelpers import PROJECT_ROOT
from wfdeploy.cluster import admin_client
from wfdeploy.cluster.processes import State
from wfdeploy.cluster.toolchain import CONTROL_PLANE, TOOLCHAIN_BIN_ENV, ToolchainError, binaries

BUILD_TOOLCHAIN = PROJECT_ROOT / "scripts" / "build-toolchain"
#: What the Pulumi tests run besides the control plane (a user's own Pulumi CLI on PATH is used as is).
PULUMI_TOOLS = ("pulumi", "pulumi-resource-kubernetes", "pulumi-resource-random")


def _toolchain_bin() -> str | None:
    """The folder to put first on PATH, building the toolchain only when it is not there yet."""
    try:
        binaries(CONTROL_PLANE + PULUMI_TOOLS)
        return os.environ.get(TOOLCHAIN_BIN_ENV)
    except ToolchainError as missing:
        if not BUILD_TOOLCHAIN.is_file():
            pytest.fail(f"{missing} (and {BUILD_TOOLCHAIN} does not exist)")
    completed = subprocess.run([str(BUILD_TOOLCHAIN)], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True, check=False)
    if completed.returncode != 0:
        pytest.fail(f"scripts/build-toolchain failed with exit {completed.returncode}")
    folder = completed.stdout.strip().splitlines()[-1]
    os.environ[TOOLCHAIN_BIN_ENV] = folder  # this process starts clusters too (benchmarks, helpers)
    try:
        binaries(CONTROL_PLANE + PULUMI_TOOLS)
    except ToolchainError as missing:
        pytest.fail(f"after scripts/build-toolchain: {missing}")
    return folder


@pytest.fixture(scope="session")
def toolchain_env() -> dict[str, str]:
    """Environment for subprocesses of this tier: the toolchain first on PATH."""
    env = dict(os.environ)
    folder = _toolchain_bin()
    if folder:
        env[TOOLCHAIN_BIN_ENV] = folder
        env["PATH"] = f"{folder}{os.pathsep}{env['PATH']}"
    return env


def wfdeploy(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wfdeploy", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory, toolchain_env):
    """`wfdeploy cluster up` in one process, `wfdeploy cluster down` in another, as a user runs them."""
    build = tmp_path_factory.mktemp("e2e-build")
    env = {**toolchain_env, "WFDEPLOY_BUILD_DIR": str(build)}
    started = wfdeploy(env, "cluster", "up")
    directory = build / "cluster"
    assert started.returncode == 0, f"cluster up failed:\n{started.stdout}\n{started.stderr}"
    state = State.load(directory)
    try:
        yield {"env": {**env, "KUBECONFIG": state.kubeconfig}, "state": state, "api": admin_client(directory),
               "directory": directory}
    finally:
        stopped = wfdeploy(env, "cluster", "down")
        running = [process.name for process in state.processes if process.alive()]
        assert stopped.returncode == 0, f"cluster down failed:\n{stopped.stdout}\n{stopped.stderr}"
        assert running == [], f"still running after `cluster down`: {running}"
