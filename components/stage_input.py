"""The running program's stage, read from the configuration the Pulumi engine supplied.

The Pulumi side of the config boundary: `components.config` knows nothing of
Pulumi, so reading the engine's values lives here, next to the program.
"""

from __future__ import annotations

import pulumi
from pulumi.runtime import config as runtime_config

from components.config import LoadedStage, parse_stage


def load_from_pulumi() -> LoadedStage:
    """Validate the engine's configuration of the current stack (`ConfigError` on bad input)."""
    values = dict(runtime_config.CONFIG.get())
    secret_keys = {key for key in values if pulumi.runtime.is_config_secret(key)}
    stack = pulumi.get_stack()
    return parse_stage(stack, values, secret_keys, source=f"stack {stack!r}")
