"""The lock files are what scripts/lock makes of their inputs, for the Python floor pyproject.toml states."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib

import pytest

from tests.stagehelpers import PROJECT_ROOT

REQUIREMENTS = PROJECT_ROOT / "requirements"
#: lock file -> the file scripts/lock resolves it from
LOCK_INPUTS = {"main.lock": "pyproject.toml", "checkov.lock": "requirements/checkov.in", "nca.lock": "requirements/nca.in"}


def _normalized(requirement: str) -> str:
    name, _, rest = requirement.partition("==")
    name = name.split("[")[0]  # an extra's packages are pinned on their own lines
    return re.sub(r"[-_.]+", "-", name.strip()).lower() + "==" + rest.split(";")[0].strip()


def _pins(text: str) -> set[str]:
    return {_normalized(line) for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")}


def _direct_pins(lock: str) -> set[str]:
    source = PROJECT_ROOT / LOCK_INPUTS[lock]
    if source.suffix == ".toml":
        project = tomllib.loads(source.read_text())["project"]
        return {_normalized(pin) for pin in project["dependencies"] + project["optional-dependencies"]["test"]}
    return _pins(source.read_text())


def _floor() -> str:
    return tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["requires-python"].removeprefix(">=")


@pytest.mark.parametrize("lock", sorted(LOCK_INPUTS))
def test_every_direct_pin_is_in_its_lock_at_the_same_version(lock):
    missing = _direct_pins(lock) - _pins((REQUIREMENTS / lock).read_text())
    assert not missing, f"requirements/{lock} lacks {sorted(missing)} of {LOCK_INPUTS[lock]}: run scripts/lock"


@pytest.mark.parametrize("lock", sorted(LOCK_INPUTS))
def test_every_lock_is_resolved_for_the_python_floor(lock):
    header = (REQUIREMENTS / lock).read_text().splitlines()[0]
    assert f"from {LOCK_INPUTS[lock]} (Python >= {_floor()}," in header, header


def test_the_floor_admits_debian_12s_python():
    assert tuple(int(part) for part in _floor().split(".")) <= (3, 11, 2)


@pytest.mark.integration
def test_scripts_lock_reproduces_every_lock_from_its_inputs(tmp_path):
    """Against the public index: a copy of the inputs re-locked gives the committed locks byte for byte."""
    for relative in ("scripts/lock", "pyproject.toml", *(f"requirements/{p.name}" for p in REQUIREMENTS.glob("*.in"))):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT_ROOT / relative, tmp_path / relative)
    result = subprocess.run([str(tmp_path / "scripts" / "lock")], capture_output=True, text=True, timeout=600,
                            env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    for lock in LOCK_INPUTS:
        assert (tmp_path / "requirements" / lock).read_text() == (REQUIREMENTS / lock).read_text(), (
            f"requirements/{lock} is not what scripts/lock makes of {LOCK_INPUTS[lock]}: run scripts/lock")

