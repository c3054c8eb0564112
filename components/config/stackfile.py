"""Reading `stacks/Pulumi.<stage>.yaml` without the Pulumi CLI.

Values come back the way the CLI hands them to a program: structured values
as JSON text, scalars as strings, a key written without a namespace as the
project's own key. Encrypted (`secure:`) values cannot be read without the
secrets provider, so their form is checked, they are replaced by the redacted
placeholder and reported as secret keys.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from .ciphertext import ciphertext_problem, uses_data_key
from .errors import ConfigError, Problem
from .project import PROJECT
from .schema import StageConfig
from .secrets import REDACTED, SECRET_KEYS
from .stack_yaml import MAX_STACK_FILE_BYTES, StackYamlError, load_stack_yaml
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


def _read_text(path: Path) -> str:
    """The file's text; refused unread above the size bound, refused with the byte offset if not UTF-8."""
    source = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_STACK_FILE_BYTES:
            raise ConfigError(source, [Problem("(file)", f"{size} bytes; a stack file holds at most {MAX_STACK_FILE_BYTES}")])
        data = path.read_bytes()
    except OSError as err:
        raise ConfigError(source, [Problem("(file)", f"cannot be read: {err.strerror or err}")]) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise ConfigError(
            source,
            [Problem("(file)", f"not valid UTF-8: byte 0x{data[err.start]:02x} at byte offset {err.start} (line {line})")],
        ) from None


def project_keys() -> list[str]:
    """Every key of this project's namespace a stack file may set: the schema's sections and the operator secrets."""
    sections = [field.alias or name for name, field in StageConfig.model_fields.items() if name != "stage"]
    return sorted({*sections, *SECRET_KEYS})


def _project_key(key: str) -> str:
    """Pulumi reads a key without a namespace as the project's own: `replicas` is `<project>:replicas`."""
    return key if ":" in key else f"{PROJECT}:{key}"


def read_stack_file(path: Path) -> tuple[dict[str, str], set[str]]:
    """Return ({'project:key': cli-style value}, {secret keys}) for one stack file."""
    source = str(path)
    if not path.is_file():
        raise ConfigError(source, [Problem("(file)", "stack file does not exist")])
    try:
        document = load_stack_yaml(_read_text(path)) or {}
    except StackYamlError as err:
        raise ConfigError(source, err.problems) from None
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

    values: dict[str, str] = {}
    secret_keys: set[str] = set()
    data_key = uses_data_key(document)
    for key, value in config.items():
        full_key = _project_key(key)
        if full_key != key and full_key in config:
            problems.append(
                Problem(key, f"also given as {full_key!r}: Pulumi reads a key without a namespace as the project's own, "
                             "so both name one key; keep one")
            )
            continue
        if full_key != key and key not in project_keys():
            problems.append(
                Problem(key, f"unknown key: Pulumi reads a key without a namespace as {full_key!r}, "
                             f"and this project has no such key (expected one of {', '.join(project_keys())})")
            )
            continue
        if isinstance(value, dict) and set(value) == {"secure"}:
            problem = ciphertext_problem(value["secure"], data_key=data_key)
            if problem:
                problems.append(Problem(full_key, problem))
            values[full_key] = REDACTED
            secret_keys.add(full_key)
        else:
            values[full_key] = _as_cli_value(value)
    if problems:
        raise ConfigError(source, problems)
    return values, secret_keys
