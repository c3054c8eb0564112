"""Entry point shared by `pulumi up` (via __main__.py) and offline synthesis."""

from __future__ import annotations

import pulumi

from components.config import ConfigError, LoadedStage, load_from_pulumi
from components.platform import build_platform


def run(stage: LoadedStage | None = None) -> dict[str, pulumi.Input]:
    """Load and validate the stage (unless given), declare it, export its outputs."""
    if stage is None:
        try:
            stage = load_from_pulumi()
        except ConfigError as error:
            # RunError makes the engine print the message without a Python traceback
            raise pulumi.RunError(str(error)) from None
    outputs = build_platform(stage)
    for name, value in outputs.items():
        pulumi.export(name, value)
    return outputs
