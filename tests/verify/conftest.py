"""The post-deploy suite's fixtures: hosts and endpoints come from a verification inventory.

`wfdeploy verify STAGE` writes the inventory and points WFDEPLOY_VERIFY_INVENTORY
at it. Without one there is nothing to verify, so a plain `pytest tests` run
collects nothing here (the integration tests run this suite against local
processes through `wfdeploy verify`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import testinfra

from wfdeploy.verification.inventory import HostTarget, Inventory
from wfdeploy.verification.procfs import LIST_PROCESSES, parse_process_list

INVENTORY_ENV = "WFDEPLOY_VERIFY_INVENTORY"
#: What `kubectl exec` says when the container image has no shell.
_NO_SHELL = re.compile(
    r"(executable file not found|no such file or directory).*(/bin/sh|\$PATH)|/bin/sh.*(not found|no such file)", re.I
)

if not os.environ.get(INVENTORY_ENV):
    collect_ignore_glob = ["test_*.py"]


def _inventory() -> Inventory:
    return Inventory.read(Path(os.environ[INVENTORY_ENV]))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "target" in metafunc.fixturenames:
        hosts = _inventory().hosts
        metafunc.parametrize("target", hosts, ids=[target.name for target in hosts], scope="session")


@pytest.fixture(scope="session")
def inventory() -> Inventory:
    return _inventory()


@pytest.fixture(scope="session")
def endpoints(inventory):
    return inventory.endpoints


@pytest.fixture(scope="session")
def host(target: HostTarget):
    """testinfra's host for this target (kubectl:// on a cluster, local:// here)."""
    return testinfra.get_host(target.backend)


@dataclass(frozen=True)
class Processes:
    """The processes of a target as the host sees them; `main` is the one whose /proc view is used."""

    pids: tuple[int, ...]
    commands: dict[int, str]

    @property
    def main(self) -> int:
        return self.pids[0]


@pytest.fixture(scope="session")
def processes(host, target: HostTarget) -> Processes:
    listed = host.run(LIST_PROCESSES)
    if listed.rc != 0 and _NO_SHELL.search(listed.stderr):
        # distroless/scratch images (e.g. metrics exporters) cannot be entered with kubectl exec
        pytest.skip(f"not applicable: {target.name} has no /bin/sh to run the host checks in")
    if listed.rc != 0:
        pytest.fail(f"{target.name}: listing processes failed on {target.backend}: {listed.stderr.strip()[:300]}")
    own_pid, listing = parse_process_list(listed.stdout)
    if target.process:
        pattern = re.compile(target.process)
        pids = sorted(
            pid for pid, command in listing.items()
            if pid != own_pid and "/proc/[0-9]*" not in command and pattern.search(command)
        )
    else:
        pids = [1] if 1 in listing else []
    if not pids:
        pytest.fail(f"{target.name}: no process matching {target.process or 'PID 1'!r} on {target.backend}")
    return Processes(tuple(pids), {pid: listing[pid] for pid in pids})
