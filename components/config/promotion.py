"""Where a stage sits in the promotion chain and what its environment must look like.

`previousStack` names the stage whose verified release this stage takes, as a
fully qualified stack name. With a self-managed backend (S3 bucket, local
folder) Pulumi's organization is always the literal `organization`, so the
name is `organization/workflow-platform/<stage>`; with Pulumi Cloud it is
`<your org>/workflow-platform/<stage>`.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from .project import PROJECT as PROJECT_NAME
from .types import DnsLabel, Section

_VERSION_RE = re.compile(r"^\d+\.\d+\.\d+$")
_STACK_RE = re.compile(r"^(?P<org>[A-Za-z0-9][A-Za-z0-9_.-]*)/(?P<project>[A-Za-z0-9_.-]+)/(?P<stack>[A-Za-z0-9_.-]+)$")
_CRD_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")
_OPERATOR_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?/[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")
_RELEASE_ID_RE = re.compile(r"^r-[0-9a-f]{16}$")


def version_tuple(version: str) -> tuple[int, int, int]:
    """'3.190.0' -> (3, 190, 0); a leading 'v' and any pre-release suffix are ignored."""
    match = re.match(r"^v?(\d+)\.(\d+)\.(\d+)", version.strip())
    if not match:
        raise ValueError(f"not a semantic version: {version!r}")
    return int(match[1]), int(match[2]), int(match[3])


class PulumiVersionRange(Section):
    """Pulumi CLI versions this project supports: `minimum` <= version < `below`."""

    minimum: str = "3.190.0"
    below: str = "4.0.0"

    @field_validator("minimum", "below")
    @classmethod
    def _semver(cls, value: str) -> str:
        if not _VERSION_RE.match(value):
            raise ValueError(f"expected a version 'MAJOR.MINOR.PATCH', got {value!r}")
        return value

    @model_validator(mode="after")
    def _non_empty(self) -> "PulumiVersionRange":
        if version_tuple(self.minimum) >= version_tuple(self.below):
            raise ValueError(f"minimum {self.minimum} must be below {self.below}")
        return self

    def contains(self, version: str) -> bool:
        return version_tuple(self.minimum) <= version_tuple(version) < version_tuple(self.below)


class PromotionConfig(Section):
    """A stage's place in alpha -> staging -> production and its preflight expectations."""

    previous_stage: DnsLabel | None = Field(
        default=None, description="stage whose verified release this one takes; none for alpha and local"
    )
    previous_stack: str | None = Field(
        default=None, description="that stage's stack, 'organization/workflow-platform/<previousStage>'"
    )
    pulumi_version: PulumiVersionRange = PulumiVersionRange()
    required_crds: list[str] = Field(
        default_factory=list, description="CRDs (plural.group) the cluster must already serve before `pulumi up`"
    )
    required_operators: list[str] = Field(
        default_factory=list, description="operator Deployments ('namespace/name') that must be available first"
    )
    require_confirmation: bool = Field(
        default=False, description="promote/rollback into this stage only with --yes-i-mean-<stage>"
    )
    verified_release: str | None = Field(
        default=None, description="written by `wfdeploy promote`/`rollback` after verification; never by hand"
    )

    @field_validator("previous_stack")
    @classmethod
    def _stack_name(cls, value: str | None) -> str | None:
        if value is not None and not _STACK_RE.match(value):
            raise ValueError(f"expected 'organization/{PROJECT_NAME}/<stage>', got {value!r}")
        return value

    @field_validator("required_crds")
    @classmethod
    def _crd_names(cls, value: list[str]) -> list[str]:
        bad = [name for name in value if not _CRD_RE.match(name)]
        if bad:
            raise ValueError(f"CRD names are '<plural>.<group>', e.g. 'gateways.gateway.networking.k8s.io', got {bad}")
        return value

    @field_validator("required_operators")
    @classmethod
    def _operator_names(cls, value: list[str]) -> list[str]:
        bad = [name for name in value if not _OPERATOR_RE.match(name)]
        if bad:
            raise ValueError(f"operators are '<namespace>/<deployment>', got {bad}")
        return value

    @field_validator("verified_release")
    @classmethod
    def _release_id(cls, value: str | None) -> str | None:
        if value is not None and not _RELEASE_ID_RE.match(value):
            raise ValueError(f"expected a release id 'r-<16 hex>', got {value!r}")
        return value

    @model_validator(mode="after")
    def _stack_names_stage(self) -> "PromotionConfig":
        if (self.previous_stage is None) != (self.previous_stack is None):
            raise ValueError("previousStage and previousStack are set together or not at all")
        if self.previous_stack is not None:
            match = _STACK_RE.match(self.previous_stack)
            if match["project"] != PROJECT_NAME or match["stack"] != self.previous_stage:
                raise ValueError(
                    f"previousStack must be '<organization>/{PROJECT_NAME}/{self.previous_stage}' "
                    f"(previousStage is {self.previous_stage!r}), got {self.previous_stack!r}"
                )
        return self
