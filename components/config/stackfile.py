"""Reading `stacks/Pulumi.<stage>.yaml` without the Pulumi CLI.

Values come back the way the CLI hands them to a program: structured values
as JSON text, scalars as strings. Encrypted (`secure:`) values cannot be read
without the secrets provider, so they are replaced by the redacted placeholder
and reported as secret keys.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError, Problem
from .secrets import REDACTED
from .stagename import stage_name_problem

STACK_FILE_KEYS = {"config", "secretsprovider", "encryptionsalt", "encryptedkey", "environment"}


def stack_file_path(stacks_dir: Path, stage: str) -> Path:
    """`<stacks_dir>/Pulumi.<stage>.yaml`; refused for a name that is not a stage name or a path leaving the folder."""
    problem = stage_name_problem(stage)
    if problem:
        raise ConfigError(str(stacks_dir), [Problem("(stage)", problem)])
    path = stacks_dir / f"Pulumi.{stage}.yaml"
    # a symlink may still point elsewhere: nothing outside the stacks folder is ever read
    if path.resolve().parent != stacks_dir.resolve():
        outside = f"resolves outside {stacks_dir}; stack files live in that folder"
        raise ConfigError(str(path), [Problem("(file)", outside)])
    return path


def available_stages(stacks_dir: Path) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in stacks_dir.glob("Pulumi.*.yaml"))


def _as_cli_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def read_stack_file(path: Path) -> tuple[dict[str, str], set[str]]:
    """Return ({'project:key': cli-style value}, {secret keys}) for one stack file."""
    source = str(path)
    if not path.is_file():
        raise ConfigError(source, [Problem("(file)", "stack file does not exist")])
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(source, [Problem("(file)", f"not valid YAML: {err}")]) from None
    if not isinstance(document, dict):
        raise ConfigError(source, [Problem("(file)", "expected a mapping with a 'config' key")])
    problems = [
        Problem(key, f"unknown stack-file key; expected one of {', '.join(sorted(STACK_FILE_KEYS))}")
        for key in document
        if key not in STACK_FILE_KEYS
    ]
    config = document.get("config") or {}
    if not isinstance(config, dict):
        problems.append(Problem("config", "expected a mapping of 'project:key' to values"))
        config = {}
    if problems:
        raise ConfigError(source, problems)

    values: dict[str, str] = {}
    secret_keys: set[str] = set()
    for key, value in config.items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            values[key] = REDACTED
            secret_keys.add(key)
        else:
            values[key] = _as_cli_value(value)
    return values, secret_keys
