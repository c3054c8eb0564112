"""Every stage rendered once (without gates) for the security tests, into a private build folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.stagehelpers import STAGES, load_stage_with
from wfdeploy.render.writer import RenderResult, render_stage


@pytest.fixture(scope="session")
def rendered(tmp_path_factory) -> dict[str, RenderResult]:
    root: Path = tmp_path_factory.mktemp("security-build")
    return {stage: render_stage(load_stage_with(stage), root, run_gates=False) for stage in STAGES}
