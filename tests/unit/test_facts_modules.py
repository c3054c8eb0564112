"""Each concern's facts module is pure, and the in-cluster job programs carry no Pulumi code.

Checked in a fresh interpreter per module: whatever the module pulls in, directly or through another
module, shows up in `sys.modules`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.stagehelpers import PROJECT_ROOT

ROOT = Path(PROJECT_ROOT)
#: The Pulumi SDKs: neither a facts module nor a job program may load them.
PULUMI = ("pulumi", "pulumi_kubernetes", "pulumi_aws", "pulumi_random")
#: What else a job program must not load (the configuration layer's parsers): its image has none of them.
CONFIG_LIBRARIES = ("pydantic", "yaml")


def facts_modules() -> list[str]:
    """Every facts module in the tree, so that a new concern's is checked without editing this file."""
    found = sorted(path.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".") for path in (ROOT / "components").glob("*/facts.py"))
    return ["components.facts", *found]


def loaded_modules(module: str) -> list[str]:
    """The modules importing `module` loads, in a fresh interpreter started in the repository."""
    code = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(completed.stdout)


def impurities(module: str, own_package: str) -> list[str]:
    """Loaded modules outside the standard library, the client libraries and `own_package` (with the package
    files above it, which hold docstrings only)."""
    parents = {own_package.rsplit(".", depth)[0] for depth in range(1, own_package.count(".") + 1)}
    bad = []
    for name in loaded_modules(module):
        top = name.split(".")[0]
        if top in PULUMI or top in CONFIG_LIBRARIES:
            bad.append(name)
        elif top == "components" and name not in parents and name != own_package and not name.startswith(own_package + "."):
            bad.append(name)
    return bad


def is_facts_or_package(name: str) -> bool:
    """components.facts, components.<concern>.facts, or a concern's package itself (its __init__ runs first)."""
    parts = name.split(".")
    return name == "components.facts" or parts[-1] == "facts" or len(parts) == 2


def test_every_concern_has_a_facts_module():
    assert set(facts_modules()) >= {
        "components.facts",
        "components.workflow.facts",
        "components.data.facts",
        "components.edge.facts",
        "components.logging.facts",
        "components.monitoring.facts",
        "components.backup.facts",
    }


@pytest.mark.parametrize("module", facts_modules())
def test_a_facts_module_imports_only_the_standard_library_config_and_other_facts(module):
    loaded = loaded_modules(module)
    foreign = [name for name in loaded if name.split(".")[0] in PULUMI]
    assert foreign == [], f"{module} loads {foreign}"
    components = [name for name in loaded if name.startswith("components.") and not name.startswith("components.config")]
    assert [name for name in components if not is_facts_or_package(name)] == [], f"{module} loads components {components}"


def test_the_purity_check_catches_a_module_that_loads_pulumi():
    # a component (not a facts module) loads Pulumi: the check above must say so
    assert "pulumi" in loaded_modules("components.workflow.component")
    assert not is_facts_or_package("components.workflow.redis")


@pytest.mark.parametrize(
    "program, own_package",
    [
        ("components.backup.job.commands", "components.backup.job"),
        ("components.logging.retention_job.converge", "components.logging.retention_job"),
    ],
)
def test_an_in_cluster_job_program_imports_only_its_own_package_and_its_client_libraries(program, own_package):
    assert impurities(program, own_package) == []


def test_the_job_check_catches_a_program_that_reaches_into_a_component():
    # the backup component lives beside the job but is not part of it
    assert "components.backup.component" in impurities("components.backup.component", "components.backup.job")
