"""Every cross-field rule a parsed stage must pass, in one visible table.

A rule is a plain function of the whole `StageConfig` returning the problems it
finds (each naming its key); `parse_stage` runs them all, in this order.
"""

from __future__ import annotations

from typing import Callable

from . import backup_rules, image_rules, logging_rules, monitoring_rules, network_rules
from .availability_rules import highly_available_stage_problems
from .errors import Problem
from .schema import StageConfig

StageRule = Callable[[StageConfig], list[Problem]]

STAGE_RULES: tuple[StageRule, ...] = (
    image_rules.image_pinning_problems,
    highly_available_stage_problems,
    backup_rules.backup_problems,
    logging_rules.shipper_namespace_problems,
    logging_rules.snapshot_bucket_problems,
    logging_rules.image_version_problems,
    monitoring_rules.receiver_problems,
    monitoring_rules.runbook_problems,
    monitoring_rules.evaluation_interval_problems,
    network_rules.object_store_problems,
)


def stage_rule_problems(config: StageConfig) -> list[Problem]:
    """The problems of every rule in `STAGE_RULES`, in table order."""
    return [problem for rule in STAGE_RULES for problem in rule(config)]
