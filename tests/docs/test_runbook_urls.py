"""Every `runbook_url` the program declares, in every stage, points at a runbook file of this repository."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from tests.stagehelpers import PROJECT_ROOT, STAGES, load_stage_with


def _runbook_urls(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """(where, url) for every `runbook_url` key anywhere in a resource's inputs (rules, chart values)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "runbook_url" and isinstance(item, str):
                yield where, item
            else:
                yield from _runbook_urls(item, where)
    elif isinstance(value, list):
        for item in value:
            yield from _runbook_urls(item, where)


@pytest.mark.parametrize("stage", STAGES)
def test_every_runbook_url_resolves_to_a_runbook_file(stage, synthesized):
    base = load_stage_with(stage).config.monitoring.runbook_base_url
    found = [
        pair
        for resource in synthesized(stage).resources
        for pair in _runbook_urls(resource.inputs, f"{resource.type} {resource.name}")
    ]
    assert len(found) >= 9, f"{stage}: expected every contract alert to carry a runbook_url, found {len(found)}"
    problems = []
    for where, url in found:
        if not url.startswith(base + "/"):
            problems.append(f"{where}: runbook_url {url!r} is not under monitoring.runbookBaseUrl {base}")
            continue
        target = PROJECT_ROOT / "runbooks" / url.removeprefix(base + "/")
        if not target.is_file():
            problems.append(f"{where}: runbook_url {url!r} names no file ({target.relative_to(PROJECT_ROOT)})")
    assert problems == []
