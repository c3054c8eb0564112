"""Typed stage configuration: the one place bad input is stopped."""

from .chain import promotion_chain
from .errors import ConfigError, Problem
from .loader import PROJECT, LoadedStage, parse_stage
from .rules import STAGE_RULES
from .schema import StageConfig
from .secrets import OPERATOR_SECRETS, REDACTED, StageSecrets
from .stackfile import available_stages, read_stack_file, stack_file_path

__all__ = [
    "ConfigError", "Problem", "PROJECT", "LoadedStage", "parse_stage", "promotion_chain", "STAGE_RULES",
    "StageConfig", "OPERATOR_SECRETS", "REDACTED", "StageSecrets", "available_stages", "read_stack_file",
    "stack_file_path",
]
