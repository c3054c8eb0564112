"""components.config is the bottom layer: pydantic, yaml and the standard library only, no cycles, one rule table."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import grimp
import pytest

from components.config import ConfigError, Problem, rules
from tests.stagehelpers import PROJECT_ROOT, load_stage_with

CONFIG = "components.config"
RULE_MODULES = ("availability_rules", "backup_rules", "image_rules", "logging_rules", "monitoring_rules", "network_rules")


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("components", include_external_packages=True)


def _config_modules(graph) -> set[str]:
    return {module for module in graph.modules if module == CONFIG or module.startswith(f"{CONFIG}.")}


def test_config_imports_only_pydantic_yaml_and_the_standard_library(graph):
    outside = {
        imported
        for module in _config_modules(graph)
        for imported in graph.find_modules_directly_imported_by(module)
        if not imported.startswith(CONFIG)
    }
    allowed = {"pydantic", "yaml", *sys.stdlib_module_names}
    assert {name for name in outside if name.split(".")[0] not in allowed} == set()


def test_config_has_no_import_cycle(graph):
    modules = _config_modules(graph)
    cycles = sorted(
        (module, imported)
        for module in modules
        for imported in graph.find_modules_directly_imported_by(module)
        if imported in modules and graph.chain_exists(importer=imported, imported=module)
    )
    assert cycles == []


def test_importing_config_loads_no_pulumi():
    code = f"import sys, {CONFIG}, {CONFIG}.chain; print(sorted(m for m in sys.modules if m.split('.')[0] == 'pulumi'))"
    run = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"


def test_every_rule_function_of_the_rule_modules_is_in_the_table():
    defined = {
        function
        for name in RULE_MODULES
        for _, function in inspect.getmembers(importlib.import_module(f"{CONFIG}.{name}"), inspect.isfunction)
        if function.__module__ == f"{CONFIG}.{name}" and function.__name__.endswith("_problems")
    }
    assert defined - set(rules.STAGE_RULES) == set()
    assert len(rules.STAGE_RULES) == len(set(rules.STAGE_RULES))


def test_parsing_runs_exactly_the_rules_of_the_table(monkeypatch):
    def only_rule(config):
        return [Problem("workflow-platform:test", f"ran for {config.stage}")]

    monkeypatch.setattr(rules, "STAGE_RULES", (only_rule,))
    with pytest.raises(ConfigError) as caught:
        load_stage_with("alpha")
    assert caught.value.problems == [Problem("workflow-platform:test", "ran for alpha")]
    monkeypatch.setattr(rules, "STAGE_RULES", ())
    assert load_stage_with("alpha", {"workflow-platform:availability": {}}).config.availability.highly_available
