"""Typed stage configuration: the one place bad input is stopped."""

from .errors import ConfigError, Problem
from .loader import PROJECT, LoadedStage, load_from_pulumi, parse_stage, register_rule
from .schema import StageConfig
from .secrets import OPERATOR_SECRETS, REDACTED, StageSecrets
from .stackfile import available_stages, read_stack_file, stack_file_path

__all__ = [
    "ConfigError", "Problem", "PROJECT", "LoadedStage", "load_from_pulumi", "parse_stage", "register_rule",
    "StageConfig", "OPERATOR_SECRETS", "REDACTED", "StageSecrets", "available_stages", "read_stack_file",
    "stack_file_path",
]
