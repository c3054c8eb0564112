"""The locks on the newest stable Debian's Python: Debian 13 (trixie), a stock machine as in machine.py.

Debian 12's Python (the floor's) installs them in test_readme_commands, through scripts/setup.
"""

from __future__ import annotations

import pytest

from tests.fresh_machine.machine import FreshMachine
from tests.stagehelpers import PROJECT_ROOT


@pytest.mark.integration
def test_every_lock_installs_on_the_newest_debian_stable_python_from_the_public_index(tmp_path):
    """Only python3 python3-venv git ca-certificates: each lock into a venv of its own, then `pip check`."""
    machine = FreshMachine.create(tmp_path, suite="trixie")
    try:
        installs = ("set -e; python3 --version; for lock in requirements/*.lock; do venv=/tmp/$(basename $lock .lock);"
                    " python3 -m venv $venv; $venv/bin/pip install -q --no-deps -r $lock; $venv/bin/pip check;"
                    " echo \"installed $lock\"; done")
        run = machine.run(installs, tmp_path / "trixie.log", timeout=30 * 60)
    finally:
        machine.remove()
    print(f"Debian 13: every lock installed in {run.seconds:.0f}s ({'warm' if run.warm else 'cold'} download caches)")
    assert run.returncode == 0, run.output[-4000:]
    assert run.output.startswith("Python 3.13."), run.output[:200]
    locks = sorted(path.name for path in (PROJECT_ROOT / "requirements").glob("*.lock"))
    assert [line.split("/")[-1] for line in run.output.splitlines() if line.startswith("installed ")] == locks
