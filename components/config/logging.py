"""The `logging` section: Elasticsearch, Kibana, the log shipper, retention and snapshots (ECK)."""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from .types import ComputeResources, Cron, DnsLabel, MemoryQuantity, Section, cron_fields, memory_bytes

_STACK_VERSION_RE = re.compile(r"^\d+\.\d+\.\d+$")
#: Elasticsearch refuses to start a node with less heap than this leaves it (heap is half the limit).
_MIN_ELASTICSEARCH_MEMORY = "1Gi"
_QUARTZ_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


class ElasticsearchSettings(Section):
    """The Elasticsearch cluster: one node set, every node master-eligible and data."""

    node_count: int = Field(ge=1, le=9, description="1 for a throwaway stage; 3 or more to survive a node loss")
    storage_size: MemoryQuantity = Field(description="PersistentVolumeClaim size per node, e.g. '50Gi'")
    storage_class: DnsLabel | None = Field(default=None, description="StorageClass of the data volumes (cluster default if unset)")
    resources: ComputeResources

    @field_validator("node_count")
    @classmethod
    def _quorum_survives_a_loss(cls, value: int) -> int:
        if value == 2:
            raise ValueError("2 nodes lose their master quorum when either fails: use 1 (no redundancy) or 3 or more")
        return value

    @model_validator(mode="after")
    def _enough_memory(self) -> "ElasticsearchSettings":
        if memory_bytes(self.resources.memory_limit) < memory_bytes(_MIN_ELASTICSEARCH_MEMORY):
            raise ValueError(f"resources.memoryLimit must be at least {_MIN_ELASTICSEARCH_MEMORY} for Elasticsearch")
        return self


class KibanaSettings(Section):
    replicas: int = Field(ge=1, le=5)
    resources: ComputeResources


class RetentionSettings(Section):
    """How long log indices live: an ILM policy (rollover, then delete) and the index template using it."""

    days: int = Field(ge=1, le=3650, description="age after rollover at which a backing index is deleted")
    rollover_max_age_days: int = Field(default=1, ge=1, le=30)
    rollover_max_primary_shard_size_gb: int = Field(default=25, ge=1, le=100)

    @model_validator(mode="after")
    def _rollover_before_delete(self) -> "RetentionSettings":
        if self.rollover_max_age_days > self.days:
            raise ValueError(f"rolloverMaxAgeDays {self.rollover_max_age_days} exceeds days {self.days}")
        return self


class SnapshotBucketConfig(Section):
    """The dedicated snapshot bucket (stages in AWS): the backup bucket's hardened model without Object Lock."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", description="globally unique S3 bucket name")
    noncurrent_version_expiration_days: int = Field(
        default=7, ge=1, le=365, description="days a snapshot file deleted by SLM retention can still be recovered"
    )
    force_destroy: bool = Field(default=False, description="let `pulumi destroy` delete a non-empty bucket")


class SnapshotSettings(Section):
    """Snapshots to a dedicated S3 bucket (only in stages that run in AWS)."""

    enabled: bool = True
    bucket: SnapshotBucketConfig | None = Field(default=None, description="required in a stage with an `aws` section")
    schedule: Cron = Field(description="when a snapshot is taken (cron, UTC)")
    repository: DnsLabel = "backup-store"
    base_path: str = Field(default="elasticsearch", pattern=r"^[a-z0-9][a-z0-9/_-]*$")
    expire_after_days: int = Field(ge=1, le=3650)
    min_count: int = Field(default=3, ge=1, le=500)
    max_count: int = Field(default=100, ge=1, le=1000)

    @field_validator("schedule")
    @classmethod
    def _quartz_convertible(cls, value: str) -> str:
        _, _, day_of_month, _, day_of_week = cron_fields(value)
        if day_of_month != "*" and day_of_week != "*":
            raise ValueError(f"set day of month or day of week, not both (Elasticsearch SLM), got {value!r}")
        return value

    @model_validator(mode="after")
    def _counts_ordered(self) -> "SnapshotSettings":
        if self.min_count > self.max_count:
            raise ValueError(f"minCount {self.min_count} exceeds maxCount {self.max_count}")
        return self

    def quartz_schedule(self) -> str:
        """The cron schedule in the Quartz form SLM expects: seconds first, `?` for the unused day field."""
        minute, hour, day_of_month, month, day_of_week = cron_fields(self.schedule)
        if day_of_week == "*":
            return f"0 {minute} {hour} {day_of_month} {month} ?"
        names = re.sub(r"\d", lambda match: _QUARTZ_DAYS[int(match.group())], day_of_week)
        return f"0 {minute} {hour} ? {month} {names}"


class ShipperSettings(Section):
    """Filebeat as a DaemonSet (ECK Beat): reads every node's container logs."""

    namespace: DnsLabel = Field(
        default="logging-shipper",
        description="its own namespace: reading host log files needs Pod Security `privileged`",
    )
    resources: ComputeResources
    exclude_namespaces: list[DnsLabel] = Field(default_factory=list, description="namespaces whose logs are dropped")


class LoggingConfig(Section):
    """ELK through ECK: one Elastic Stack version for Elasticsearch, Kibana and Filebeat."""

    version: str = Field(description="Elastic Stack version, e.g. '9.2.0'")
    elasticsearch: ElasticsearchSettings
    kibana: KibanaSettings
    retention: RetentionSettings
    snapshots: SnapshotSettings
    shipper: ShipperSettings

    @field_validator("version")
    @classmethod
    def _stack_version(cls, value: str) -> str:
        if not _STACK_VERSION_RE.match(value):
            raise ValueError(f"expected an Elastic Stack version 'MAJOR.MINOR.PATCH', got {value!r}")
        if int(value.split(".")[0]) < 8:
            raise ValueError(f"expected Elastic Stack 8.x or later (restricted security contexts), got {value!r}")
        return value
