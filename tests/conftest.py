"""Shared fixtures: offline syntheses of the real program, an isolated build folder."""

from __future__ import annotations

from typing import Callable

import pytest

from tests.stagehelpers import PROJECT_ROOT, load_stage_with
from wfdeploy.render.synth import Synthesis, synthesize


@pytest.fixture(scope="session")
def synthesized() -> Callable[[str], Synthesis]:
    """Synthesis of an unmodified stage, computed once per session."""
    cache: dict[str, Synthesis] = {}

    def get(stage: str) -> Synthesis:
        if stage not in cache:
            cache[stage] = synthesize(load_stage_with(stage))
        return cache[stage]

    return get


@pytest.fixture(autouse=True)
def _isolated_build_dir(tmp_path, monkeypatch):
    """Never let a test write into the user's build/ folder."""
    monkeypatch.setenv("WFDEPLOY_BUILD_DIR", str(tmp_path / "build"))
    monkeypatch.setenv("WFDEPLOY_RECORDS_DIR", str(tmp_path / "records"))
    monkeypatch.setenv("WFDEPLOY_CRDS", str(PROJECT_ROOT.parent / "shared" / "crds"))
    monkeypatch.setenv("WFDEPLOY_CHART_VALUES", str(PROJECT_ROOT.parent / "shared" / "chart-values"))
