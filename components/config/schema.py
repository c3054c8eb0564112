"""The typed stage configuration: one model per stack-file key.

A stack file `stacks/Pulumi.<stage>.yaml` holds one object per top-level key
of `StageConfig` under the project namespace (`workflow-platform:<key>`).
Everything that differs between stages lives there; components receive the
parsed sections and never look at the stage name.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from .types import CpuQuantity, Cron, DnsLabel, Duration, ImageRef, MemoryQuantity, Section, cpu_millicores, memory_bytes

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


class ComputeResources(Section):
    """Requests and limits for one container."""

    cpu_request: CpuQuantity
    memory_request: MemoryQuantity
    cpu_limit: CpuQuantity
    memory_limit: MemoryQuantity

    @model_validator(mode="after")
    def _requests_within_limits(self) -> "ComputeResources":
        if cpu_millicores(self.cpu_request) > cpu_millicores(self.cpu_limit):
            raise ValueError(f"cpuRequest {self.cpu_request} exceeds cpuLimit {self.cpu_limit}")
        if memory_bytes(self.memory_request) > memory_bytes(self.memory_limit):
            raise ValueError(f"memoryRequest {self.memory_request} exceeds memoryLimit {self.memory_limit}")
        return self

    def as_kubernetes(self) -> dict:
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


class ImagesConfig(Section):
    """Every image this platform's own workloads run.

    `allowTags` lets a stage run tag-only references (e.g. a laptop cluster);
    a stage with `allowTags: false` must pin each image by digest.
    """

    allow_tags: bool = False
    workflow_service: ImageRef


class NamespacesConfig(Section):
    """Namespaces the platform owns, one per concern."""

    workflow: DnsLabel = "workflow"
    data: DnsLabel = "workflow-data"
    edge: DnsLabel = "workflow-edge"
    monitoring: DnsLabel = "monitoring"
    logging: DnsLabel = "logging"


_ENV_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")


class ServiceConfig(Section):
    """The workflow service Deployment."""

    replicas: int = Field(ge=1, le=100)
    max_replicas: int = Field(ge=1, le=200)
    cpu_target_utilization_percent: int = Field(default=50, ge=10, le=90)
    port: int = Field(default=8080, ge=1024, le=65535)
    termination_grace_period_seconds: int = Field(default=30, ge=5, le=600)
    resources: ComputeResources
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    settings: dict[str, str] = Field(default_factory=dict, description="non-secret environment settings")

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
        return value


class BackupConfig(Section):
    """Database backups and the restore drill (the backup component extends this)."""

    schedule: Cron = Field(description="when the backup CronJob runs")
    restore_drill_schedule: Cron = Field(description="when the restore-drill CronJob runs")
    rpo: Duration = Field(description="recovery point objective: the oldest a last good backup may be")


class StageConfig(Section):
    """All configuration of one stage; the stage name is the Pulumi stack name."""

    stage: DnsLabel = Field(description="set by the loader from the stack name, never in the stack file")
    cluster: ClusterConfig
    images: ImagesConfig
    namespaces: NamespacesConfig = NamespacesConfig()
    service: ServiceConfig
    backup: BackupConfig
