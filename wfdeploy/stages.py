"""Loading a stage's configuration from its stack file, as the CLI commands need it."""

from __future__ import annotations

from components.config import LoadedStage, available_stages, parse_stage, read_stack_file, stack_file_path
from components.config.errors import ConfigError, Problem
from wfdeploy.paths import STACKS_DIR


def known_stages() -> list[str]:
    return available_stages(STACKS_DIR)


def load_stage(stage: str) -> LoadedStage:
    """Parse `stacks/Pulumi.<stage>.yaml` for offline use (secrets redacted)."""
    path = stack_file_path(STACKS_DIR, stage)
    if not path.is_file():
        stages = ", ".join(known_stages()) or "none"
        raise ConfigError(str(path), [Problem("(file)", f"no stack file for stage {stage!r}; known stages: {stages}")])
    values, secret_keys = read_stack_file(path)
    return parse_stage(stage, values, secret_keys, source=str(path.relative_to(STACKS_DIR.parent)), offline=True)
