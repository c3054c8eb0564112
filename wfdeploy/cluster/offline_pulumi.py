"""The real Pulumi CLI, offline, against `cluster up`: a workspace copy, a file:// backend, no downloads.

`pulumi stack init` writes the passphrase salt into the stack file and
`pulumi config set` writes settings there, so the tier deploys a copy of the
checkout (same files, so the same release id) and the repository's stack files
stay untouched. Plugins are the toolchain's binaries on PATH (Pulumi prefers
them to installed ones); nothing is fetched.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from wfdeploy.paths import PROJECT_ROOT

#: What a deployment reads: the project, its program and policies, the stack files, and the CLI that promotes.
WORKSPACE_ENTRIES = ("Pulumi.yaml", "__main__.py", "components", "charts", "policies", "stacks", "wfdeploy", "runbooks")
#: Never copied: caches and machine-local state.
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "node_modules")


def workspace_copy(destination: Path, source: Path = PROJECT_ROOT) -> Path:
    """A copy of the deployable checkout at `destination`/project, sharing the virtualenv and ../shared."""
    project = destination / "project"
    project.mkdir(parents=True)
    for entry in WORKSPACE_ENTRIES:
        origin = source / entry
        if origin.is_dir():
            shutil.copytree(origin, project / entry, ignore=_IGNORED)
        elif origin.is_file():
            shutil.copy2(origin, project / entry)
    (project / ".venv").symlink_to(source / ".venv")
    # the program and the gates read ../shared (CRDs, chart values) relative to the project
    shared = destination / "shared"
    if not shared.exists():
        shared.symlink_to(source.parent / "shared")
    return project


def offline_env(state_dir: Path, kubeconfig: str, passphrase: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for `pulumi` against the ephemeral cluster: local state, passphrase secrets, nothing fetched."""
    env = dict(os.environ if base is None else base)
    state_dir.mkdir(parents=True, exist_ok=True)
    env.update({
        "PULUMI_BACKEND_URL": f"file://{state_dir}",
        # the passphrase secrets provider of test stacks; real stages use their own providers (README)
        "PULUMI_CONFIG_PASSPHRASE": passphrase,
        "PULUMI_HOME": str(state_dir / ".pulumi-home"),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_SKIP_CONFIRMATIONS": "true",
        "KUBECONFIG": kubeconfig,
    })
    return env

