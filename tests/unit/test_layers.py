"""The dependency rule holds: pyproject's import-linter contracts are kept, and an upward or sideways import breaks them.

The contracts live in pyproject.toml ([tool.importlinter]); this runs the real `lint-imports` on the
repository, then on a copy with one planted import per rule, so that a contract that cannot fail is caught.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.stagehelpers import PROJECT_ROOT

ROOT = Path(PROJECT_ROOT)
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
#: What a copy needs for the contracts: the three root packages and the configuration that names them.
LINTED = ("components", "wfdeploy", "policies", "pyproject.toml")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    # policies/ holds the pack's package; the Pulumi CLI puts that folder on sys.path the same way
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{root / 'policies'}"}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def test_the_repository_keeps_every_import_contract():
    linted = lint_imports(ROOT)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert "0 broken" in linted.stdout


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    for name in LINTED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, tmp_path / name)
    return tmp_path


def plant(root: Path, module: str, line: str) -> None:
    path = root / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text() + f"\n{line}  # planted by test_layers\n")


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # the configuration is the bottom layer: it never reaches up into a component
        ("components.config.types", "import components.kube", "components.config is not allowed to import components.kube"),
        # the program never imports its own command line
        ("components.promotion", "import wfdeploy.paths", "components is not allowed to import wfdeploy"),
        # a concern reads another concern's facts, never its component
        ("components.network.flows", "import components.logging.component",
         "components.network is not allowed to import components.logging"),
        # a wing of the command line never imports a verb
        ("wfdeploy.render.synth", "import wfdeploy.commands.render", "wfdeploy.render is not allowed to import wfdeploy.commands"),
    ],
    ids=["config-imports-a-helper", "program-imports-the-cli", "concern-imports-a-component", "wing-imports-a-verb"],
)
def test_a_planted_import_breaks_its_contract_and_is_named(copy: Path, module: str, line: str, broken: str):
    plant(copy, module, line)
    linted = lint_imports(copy)
    assert linted.returncode == 1, linted.stdout
    assert broken in linted.stdout, linted.stdout


def test_a_facts_module_may_be_read_by_another_concern(copy: Path):
    plant(copy, "components.network.flows", "import components.logging.facts")
    linted = lint_imports(copy)
    assert linted.returncode == 0, linted.stdout


def test_a_new_top_level_module_must_take_a_layer(copy: Path):
    (copy / "components" / "newcomer.py").write_text('"""A module no layer names."""\n')
    linted = lint_imports(copy)
    assert linted.returncode == 1, linted.stdout
    assert "components.newcomer" in linted.stdout, linted.stdout


def test_an_import_cycle_is_refused(copy: Path):
    plant(copy, "components.config.types", "import components.config.schema")
    linted = lint_imports(copy)
    assert linted.returncode == 1, linted.stdout
    assert "No cycles are allowed in components.config" in linted.stdout, linted.stdout
