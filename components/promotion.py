"""The stack outputs that promotion reads: this stage's release, its verified one, its candidate.

`verifiedRelease` is exported only while the release that `wfdeploy` recorded
as verified (`promotion.verifiedRelease`) is still the one the stage runs, so
any change of image, charts or shared configuration makes a stage unverified
until `wfdeploy verify` passes again. `candidateRelease` is the previous
stage's `verifiedRelease`, read through a StackReference.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components.config import StageConfig
from components.release import release_of

#: Shown where the previous stage's outputs are unknown (offline synthesis, or never verified).
NO_CANDIDATE = "<none: {stack} has no verifiedRelease>"


def release_outputs(config: StageConfig) -> dict[str, pulumi.Input]:
    """`release`, `verifiedRelease` and, for a stage with a previous stage, `candidateRelease`."""
    release = release_of(config.images.workflow_service).to_dict()
    verified = release if config.promotion.verified_release == release["id"] else None
    outputs: dict[str, pulumi.Input] = {"release": release, "verifiedRelease": verified}
    previous = config.promotion.previous_stack
    if previous:
        reference = pulumi.StackReference(f"{config.stage}-previous-stage", stack_name=previous)
        placeholder = NO_CANDIDATE.format(stack=previous)

        def _candidate(value: Any) -> Any:
            return value if isinstance(value, dict) and value.get("id") else placeholder

        candidate = reference.get_output("verifiedRelease").apply(_candidate)
        outputs["candidateRelease"] = candidate
        outputs["runsCandidate"] = candidate.apply(lambda value: isinstance(value, dict) and value.get("id") == release["id"])
    return outputs
