"""Stage names and loading a stage's configuration from its stack file, as the CLI commands need it."""

from __future__ import annotations

import argparse

from components.config import LoadedStage, available_stages, parse_stage, read_stack_file, stack_file_path
from components.config.errors import ConfigError, Problem
from components.config.stagename import stage_name_problem
from wfdeploy.paths import RESERVED_BUILD_NAMES, STACKS_DIR


def known_stages() -> list[str]:
    return available_stages(STACKS_DIR)


def check_stage_name(stage: str) -> str:
    """`stage` if it is a stage name this tool can keep under build/; ValueError saying why not."""
    problem = stage_name_problem(stage)
    if problem:
        raise ValueError(problem)
    if stage in RESERVED_BUILD_NAMES:
        reserved = ", ".join(RESERVED_BUILD_NAMES)
        raise ValueError(f"{stage!r} is reserved: build/{stage}/ is not a stage's output (reserved: {reserved})")
    return stage


def stage_argument(value: str) -> str:
    """argparse `type` for every STAGE argument: a bad name is a usage error (exit 2), never a path."""
    try:
        return check_stage_name(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def load_stage(stage: str) -> LoadedStage:
    """Parse `stacks/Pulumi.<stage>.yaml` for offline use (secrets redacted)."""
    try:
        check_stage_name(stage)
    except ValueError as error:
        raise ConfigError(str(STACKS_DIR), [Problem("(stage)", str(error))]) from None
    path = stack_file_path(STACKS_DIR, stage)
    if not path.is_file():
        stages = ", ".join(known_stages()) or "none"
        raise ConfigError(str(path), [Problem("(file)", f"no stack file for stage {stage!r}; known stages: {stages}")])
    values, secret_keys = read_stack_file(path)
    return parse_stage(stage, values, secret_keys, source=str(path.relative_to(STACKS_DIR.parent)), offline=True)
