"""Typed stage configuration: the one place bad input is stopped."""

from .errors import ConfigError, Problem
from .loader import PROJECT, LoadedStage, load_from_pulumi, parse_stage, register_rule
from .schema import StageConfig
from .secrets import OPERATOR_SECRETS, REDACTED, StageSecrets
from .stackfile import available_stages, read_stack_file, stack_file_path
from . import availability  # noqa: E402,F401  (registers the highly-available-stage rule)
from . import backup_rules  # noqa: E402,F401  (registers the backup retention/store rules)
from . import logging_rules  # noqa: E402,F401  (registers the log shipper namespace rule)
from . import monitoring_rules  # noqa: E402,F401  (registers the receiver and runbook rules)
from . import network_rules  # noqa: E402,F401  (registers the object-store address rule)

__all__ = [
    "ConfigError", "Problem", "PROJECT", "LoadedStage", "load_from_pulumi", "parse_stage", "register_rule",
    "StageConfig", "OPERATOR_SECRETS", "REDACTED", "StageSecrets", "available_stages", "read_stack_file",
    "stack_file_path",
]
