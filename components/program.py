"""Entry point shared by `pulumi up` (via __main__.py) and offline synthesis."""

from __future__ import annotations

import pulumi

from components.config import ConfigError, LoadedStage
from components.stage_input import load_from_pulumi
from components.config.image_digests import placeholder_problems
from components.platform import build_platform


def run(stage: LoadedStage | None = None) -> dict[str, pulumi.Input]:
    """Load and validate the stage (unless given), declare it, export its outputs.

    Without a stage the program runs under the Pulumi engine (`pulumi preview`/`up`, via __main__.py): it then
    also refuses placeholder image digests, which offline synthesis (given a stage) renders all the same.
    """
    if stage is None:
        try:
            stage = load_from_pulumi()
            deploy_problems = placeholder_problems(stage.config)
            if deploy_problems:
                raise ConfigError(f"stack {pulumi.get_stack()!r}", deploy_problems)
        except ConfigError as error:
            # RunError makes the engine print the message without a Python traceback
            raise pulumi.RunError(str(error)) from None
    outputs = build_platform(stage)
    for name, value in outputs.items():
        pulumi.export(name, value)
    return outputs
