"""scripts/install stops with one sentence, before installing anything, when the machine lacks
what it cannot install itself: a new enough Python with venv, git, apt, root or sudo.

Each case runs a copy of the real script in a scratch project whose PATH holds only the basic
tools it needs plus fakes (python3, dpkg-query, apt-get) that record every call.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.stagehelpers import PROJECT_ROOT

#: Real tools the script's first steps use; everything else on PATH is a fake or absent.
BASIC_TOOLS = ("bash", "env", "dirname", "sed", "sort", "head", "grep", "cat", "cut", "sha256sum", "id")


def _fake(path: Path, body: str) -> None:
    path.write_text("#!/bin/bash\n" + body)
    path.chmod(0o755)


@pytest.fixture
def machine(tmp_path):
    """A scratch project with scripts/install, and a PATH of basic tools; fakes are added per test."""
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    for relative in ("scripts/install", "scripts/debian-packages.txt", "pyproject.toml"):
        shutil.copy2(PROJECT_ROOT / relative, project / relative)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in BASIC_TOOLS:
        (bin_dir / tool).symlink_to(shutil.which(tool))
    calls = tmp_path / "calls"

    class Machine:
        def python(self, version: str, ensurepip: bool = True) -> None:
            _fake(bin_dir / "python3", f'echo "python3 $*" >>{calls}\ncase "$*" in\n'
                  f'  *version_info*) echo {version} ;;\n'
                  f'  *ensurepip*) exit {0 if ensurepip else 1} ;;\n'
                  '  *) exit 99 ;;\nesac\n')

        def tool(self, name: str, body: str = "") -> None:
            _fake(bin_dir / name, f'echo "{name} $*" >>{calls}\n{body}')

        def debian(self, installed: bool) -> None:
            self.tool("dpkg-query", "echo -n 'install ok installed'" if installed else "exit 1")
            self.tool("apt-get")

        def uid(self, uid: int) -> None:
            (bin_dir / "id").unlink()
            _fake(bin_dir / "id", f"echo {uid}\n")

        def install(self) -> subprocess.CompletedProcess:
            return subprocess.run([str(project / "scripts" / "install")], capture_output=True, text=True, timeout=60,
                                  env={"PATH": str(bin_dir), "HOME": str(tmp_path)})

        def called(self, name: str) -> bool:
            return calls.exists() and any(line.split()[0] == name for line in calls.read_text().splitlines())

        def created_anything(self) -> bool:
            return any(entry.name.startswith(".venv") for entry in project.iterdir())

    return Machine()


def _one_sentence(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("scripts/install: ") and lines[0].endswith("."), lines[0]
    return lines[0]


def test_python_below_the_floor_stops_before_any_package_is_installed(machine):
    machine.python("3.10.13")
    machine.debian(installed=False)
    machine.tool("git")
    message = _one_sentence(machine.install())
    assert "Python 3.11 or newer is needed, but python3 is 3.10.13" in message
    assert not machine.called("dpkg-query") and not machine.called("apt-get")


def test_python_3_9_is_below_the_floor_although_9_sorts_after_1_as_text(machine):
    machine.python("3.9.18")
    machine.debian(installed=True)
    machine.tool("git")
    assert "but python3 is 3.9.18" in _one_sentence(machine.install())


def test_python_at_the_floor_passes_the_version_check(machine):
    # 3.11.0 passes, so the next check (git) is the one that stops it
    machine.python("3.11.0")
    machine.debian(installed=True)
    message = _one_sentence(machine.install())
    assert message.startswith("scripts/install: git not found")


def test_missing_python_is_named(machine):
    machine.debian(installed=True)
    machine.tool("git")
    assert "python3 not found: install Python 3.11 or newer" in _one_sentence(machine.install())


def test_missing_git_stops_before_any_package_is_installed(machine):
    machine.python("3.11.2")
    machine.debian(installed=False)
    assert "git not found" in _one_sentence(machine.install())
    assert not machine.called("apt-get")


def test_a_machine_without_apt_is_told_it_needs_debian_or_ubuntu(machine):
    machine.python("3.13.5")
    machine.tool("git")
    machine.tool("dpkg-query")
    assert "apt-get not found" in _one_sentence(machine.install())


def test_python_without_ensurepip_stops_before_any_virtual_environment(machine):
    machine.python("3.11.2", ensurepip=False)
    machine.debian(installed=True)
    machine.tool("git")
    message = _one_sentence(machine.install())
    assert "python3 (3.11.2) cannot create virtual environments" in message and "python3-venv" in message
    assert not machine.created_anything()
    assert not machine.called("apt-get")


def test_missing_packages_without_root_or_sudo_stop_before_apt(machine):
    machine.python("3.11.2")
    machine.debian(installed=False)
    machine.tool("git")
    machine.uid(1000)
    result = machine.install()
    message = _one_sentence(result)
    assert "needs root: run scripts/install as root or install sudo" in message
    assert "python3-venv" in message  # the missing packages are named
    assert not machine.called("apt-get") and "installing" not in result.stdout
