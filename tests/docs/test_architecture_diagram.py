"""The architecture diagram is generated from the program and embedded unchanged in the operations guide."""

from __future__ import annotations

import importlib.util

from tests.docs.markdown import fenced_blocks
from tests.stagehelpers import PROJECT_ROOT, load_stage_with

SCRIPT = PROJECT_ROOT / "tools" / "docs" / "architecture.py"
GUIDE = PROJECT_ROOT / "docs" / "operations-guide.md"


def _generator():
    spec = importlib.util.spec_from_file_location("architecture_diagram", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_checked_in_diagram_is_what_the_generator_writes(synthesized):
    generator = _generator()
    expected = generator.diagram(load_stage_with(generator.DEFAULT_STAGE), synthesized(generator.DEFAULT_STAGE))
    assert generator.DIAGRAM.read_text() == expected, "docs/architecture.mmd is stale: run .venv/bin/python tools/docs/architecture.py"


def test_diagram_draws_the_request_path_and_every_platform_namespace(synthesized):
    text = (PROJECT_ROOT / "docs" / "architecture.mmd").read_text()
    config = load_stage_with("production").config
    for namespace in config.namespaces.model_dump().values():
        assert f'["{namespace} · ' in text, f"namespace {namespace} missing from the diagram"
    assert "x_clients -->" in text and "-->|\"5432\"| w_workflow_data_workflow_db_pooler_rw" in text


def test_operations_guide_embeds_the_generated_diagram():
    mermaid = [block.text for block in fenced_blocks(GUIDE) if block.language == "mermaid"]
    assert mermaid == [(PROJECT_ROOT / "docs" / "architecture.mmd").read_text()], (
        "docs/operations-guide.md must embed docs/architecture.mmd verbatim in one ```mermaid block"
    )


def test_components_table_lists_every_component_the_platform_declares(synthesized):
    from tests.docs.markdown import section_text, tables

    declared = {r.type for r in synthesized("production").resources if r.type.startswith("wf:") and r.parent_type == "pulumi:pulumi:Stack"}
    header, *rows = tables(section_text(GUIDE, "Architecture"))[0]
    listed = {row[0].strip("`") for row in rows}
    assert listed == declared, "docs/operations-guide.md 'Architecture': the components table differs from build_platform"
