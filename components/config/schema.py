"""The typed stage configuration: one model per stack-file key.

A stack file `stacks/Pulumi.<stage>.yaml` holds one object per top-level key
of `StageConfig` under the project namespace (`workflow-platform:<key>`).
Everything that differs between stages lives there; components receive the
parsed sections and never look at the stage name.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from .availability import AvailabilityConfig
from .aws import AwsConfig
from .backup import BackupConfig
from .credentials import looks_secret
from .data import DataConfig
from .local_tier import LocalTierConfig
from .logging import LoggingConfig
from .monitoring import MonitoringConfig
from .verification import VerificationConfig
from .edge import EdgeConfig
from .images import ImagesConfig
from .network import NetworkConfig
from .promotion import PromotionConfig
from .substitutions import SubstitutionsConfig
from .types import DnsLabel, Section
from .types import ComputeResources  # noqa: F401  (defined in types so section modules can use it)

SUPPORTED_KUBERNETES_VERSIONS = ("1.34", "1.35", "1.36", "1.37")


class ClusterConfig(Section):
    """The cluster a stage deploys to."""

    kubernetes_version: str = Field(description="minor version the manifests are validated against, e.g. '1.34'")
    context: str = Field(min_length=1, description="kubeconfig context the stage must run against")
    zones: list[DnsLabel] = Field(default_factory=list, description="zones the workloads spread across")
    allow_load_balancer_services: bool = False

    @field_validator("kubernetes_version")
    @classmethod
    def _supported_version(cls, value: str) -> str:
        if value not in SUPPORTED_KUBERNETES_VERSIONS:
            raise ValueError(f"expected one of {', '.join(SUPPORTED_KUBERNETES_VERSIONS)}, got {value!r}")
        return value


class NamespacesConfig(Section):
    """Namespaces the platform owns, one per concern."""

    workflow: DnsLabel = "workflow"
    data: DnsLabel = "workflow-data"
    edge: DnsLabel = "workflow-edge"
    monitoring: DnsLabel = "monitoring"
    logging: DnsLabel = "logging"


_ENV_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
#: Longest setting value: the process gets it through exec, which refuses a string over 128 KiB (Linux
#: MAX_ARG_STRLEN); settings are names, hosts and flags, never files.
MAX_SETTING_VALUE_LENGTH = 32 * 1024
#: All setting names and values together (UTF-8): they render into one ConfigMap with the connection
#: settings, and the API server refuses an object over 1 MiB.
MAX_SETTINGS_BYTES = 256 * 1024

SettingValue = Annotated[str, StringConstraints(max_length=MAX_SETTING_VALUE_LENGTH)]


class ServiceConfig(Section):
    """The workflow service Deployment."""

    replicas: int = Field(ge=1, le=100)
    max_replicas: int = Field(ge=1, le=200)
    cpu_target_utilization_percent: int = Field(default=50, ge=10, le=90)
    port: int = Field(default=8080, ge=1024, le=65535)
    termination_grace_period_seconds: int = Field(default=30, ge=5, le=600)
    resources: ComputeResources
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    settings: dict[str, SettingValue] = Field(default_factory=dict, description="non-secret environment settings")

    @model_validator(mode="after")
    def _replica_bounds(self) -> "ServiceConfig":
        if self.max_replicas < self.replicas:
            raise ValueError(f"maxReplicas {self.max_replicas} is below replicas {self.replicas}")
        return self

    @field_validator("settings")
    @classmethod
    def _settings_are_env_names(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [name for name in value if not _ENV_NAME_RE.match(name)]
        if bad:
            raise ValueError(f"setting names must be UPPER_SNAKE_CASE environment variables, got {bad}")
        size = sum(len(name.encode()) + len(text.encode()) for name, text in value.items())
        if size > MAX_SETTINGS_BYTES:
            raise ValueError(f"settings hold {size} bytes; at most {MAX_SETTINGS_BYTES} (they share one ConfigMap)")
        # refused here, before anything is rendered: the policy gate would see it only in written output
        secret = sorted(name for name, text in value.items() if looks_secret(name, text))
        if secret:
            raise ValueError(
                f"settings {secret} look like credentials (by name or value); "
                "a credential reaches the service from a Secret, never as a plain setting"
            )
        return value


class StageConfig(Section):
    """All configuration of one stage; the stage name is the Pulumi stack name."""

    stage: DnsLabel = Field(description="set by the loader from the stack name, never in the stack file")
    cluster: ClusterConfig
    images: ImagesConfig
    availability: AvailabilityConfig = AvailabilityConfig()
    namespaces: NamespacesConfig = NamespacesConfig()
    service: ServiceConfig
    backup: BackupConfig
    aws: AwsConfig | None = Field(default=None, description="the AWS account of a stage that runs in AWS")
    data: DataConfig
    edge: EdgeConfig
    network: NetworkConfig
    promotion: PromotionConfig = PromotionConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    verification: VerificationConfig = VerificationConfig()
    logging: LoggingConfig
    local_tier: LocalTierConfig | None = Field(default=None, description="podman local tier (wfdeploy up STAGE)")
    substitutions: SubstitutionsConfig = SubstitutionsConfig()
