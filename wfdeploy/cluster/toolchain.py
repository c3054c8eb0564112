"""Where the control plane's binaries come from: the pinned toolchain, or the PATH."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

#: A folder holding the binaries below (what `scripts/build-toolchain` prints last); searched before PATH.
TOOLCHAIN_BIN_ENV = "WFDEPLOY_TOOLCHAIN_BIN"

#: Every binary `cluster up` runs.
CONTROL_PLANE = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")


class ToolchainError(RuntimeError):
    """A binary the control plane needs is not installed."""


def search_path() -> str:
    """PATH with the toolchain folder (if configured) first."""
    configured = os.environ.get(TOOLCHAIN_BIN_ENV)
    path = os.environ.get("PATH", os.defpath)
    return f"{configured}{os.pathsep}{path}" if configured else path


def binaries(names: tuple[str, ...] = CONTROL_PLANE) -> dict[str, Path]:
    """Absolute paths of `names`; one error listing every missing binary."""
    found = {name: shutil.which(name, path=search_path()) for name in names}
    missing = sorted(name for name, where in found.items() if where is None)
    if missing:
        raise ToolchainError(
            f"not found on PATH{' or in $' + TOOLCHAIN_BIN_ENV if os.environ.get(TOOLCHAIN_BIN_ENV) else ''}: "
            f"{', '.join(missing)}; build them with `scripts/build-toolchain` and set {TOOLCHAIN_BIN_ENV} "
            "to the folder it prints (see docs/real-control-plane.md)"
        )
    return {name: Path(where) for name, where in found.items() if where}
