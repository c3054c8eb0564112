"""Turning Pulumi configuration into a validated `StageConfig`.

Both entry points — the real program under the Pulumi CLI and offline
synthesis from a stack file — go through `parse_stage`, so a stack file that
renders is a stack file that deploys.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from .credentials import looks_secret
from .errors import ConfigError, Problem
from .project import PROJECT
from .rules import stage_rule_problems
from .schema import StageConfig
from .secrets import SECRET_KEYS, StageSecrets

#: Largest value of one key as the CLI hands it over (JSON text): the biggest section today is a few KiB,
#: and the schema's own bounds (strings, lists, settings) are checked only on what passes this.
MAX_KEY_VALUE_LENGTH = 512 * 1024
#: Bad values longer than this are described by their length in messages, not quoted.
MAX_SHOWN_VALUE_LENGTH = 120


@dataclass(frozen=True)
class LoadedStage:
    config: StageConfig
    secrets: StageSecrets


def _key(name: str) -> str:
    return f"{PROJECT}:{name}"


def decode_value(value: Any) -> Any:
    """CLI values are strings; structured ones are JSON."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _location(loc: tuple) -> str:
    head, *rest = loc
    path = _key(str(head))
    for part in rest:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _shown(loc: tuple, value: Any) -> str | None:
    """How a bad value is quoted in a message: short ones as written, never a long or credential-like one."""
    if isinstance(value, str) and looks_secret(str(loc[-1]), value):
        return None
    if isinstance(value, str) and len(value) > MAX_SHOWN_VALUE_LENGTH:
        return f"a string of {len(value)} characters"
    return repr(value)


def pydantic_problems(error: ValidationError, secret_sections: set[str], section: str | None = None) -> list[Problem]:
    """One problem per pydantic error, named by its stack-file key; `section` prefixes a section model's errors."""
    problems = []
    for item in error.errors():
        if section is not None:
            item = {**item, "loc": (section, *item["loc"])}
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "missing":
            message = "required key is missing"
        elif item["type"] == "extra_forbidden":
            message = "unknown key"
        elif (
            item["loc"]
            and item["loc"][0] not in secret_sections
            and not isinstance(item["input"], (dict, list))
            and (shown := _shown(item["loc"], item["input"])) is not None
        ):
            message += f" (got {shown})"
        problems.append(Problem(_location(item["loc"]) if item["loc"] else _key("(stage)"), message))
    return problems


def parse_stage(
    stage: str, values: Mapping[str, Any], secret_keys: set[str], source: str, *, offline: bool = False
) -> LoadedStage:
    """Validate one stage's configuration, raising `ConfigError` with every problem found.

    `offline` (synthesis without the CLI) redacts every operator secret.
    """
    problems: list[Problem] = []
    sections: dict[str, Any] = {}
    secret_values: dict[str, str] = {}
    oversized: set[str] = set()
    for full_key, raw in values.items():
        namespace, _, name = full_key.partition(":")
        if namespace != PROJECT:
            continue  # provider settings such as kubernetes:context belong to their providers
        if name in SECRET_KEYS:
            if full_key not in secret_keys:
                problems.append(
                    Problem(full_key, f"must be a secret: set it with `pulumi config set --secret {name}`")
                )
            else:
                secret_values[name] = raw
            continue
        if name == "stage":
            problems.append(Problem(full_key, "unknown key: the stage is the stack name"))
            continue
        if isinstance(raw, str) and len(raw) > MAX_KEY_VALUE_LENGTH:
            problems.append(Problem(full_key, f"{len(raw)} characters of configuration; one key holds at most {MAX_KEY_VALUE_LENGTH}"))
            oversized.add(full_key)
            continue
        sections[name] = decode_value(raw)

    config = None
    try:
        config = StageConfig.model_validate({"stage": stage, **sections})
    except ValidationError as error:
        # a key refused for its size is not also reported missing
        problems += [p for p in pydantic_problems(error, secret_sections=set(SECRET_KEYS)) if p.path not in oversized]
    if config is not None:
        problems += stage_rule_problems(config)
    if problems:
        raise ConfigError(source, problems)
    return LoadedStage(config=config, secrets=StageSecrets(values=secret_values, redacted=offline))

