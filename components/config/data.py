"""The data tier's stage settings: PostgreSQL (CloudNativePG) and the Redis cache."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from .types import CpuQuantity, DnsLabel, DnsSubdomain, MemoryQuantity, Section, memory_bytes


class DataResources(Section):
    """Requests and limits for a data-tier container (memory request = limit: no overcommit for state)."""

    cpu_request: CpuQuantity
    cpu_limit: CpuQuantity
    memory: MemoryQuantity

    def as_kubernetes(self) -> dict:
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory},
        }


class PostgresConfig(Section):
    """The CloudNativePG Cluster and its PgBouncer Pooler."""

    instances: int = Field(ge=1, le=9, description="PostgreSQL instances: one primary, the rest streaming replicas")
    storage_size: MemoryQuantity
    storage_class: DnsSubdomain | None = None
    wal_storage_size: MemoryQuantity | None = Field(default=None, description="separate WAL volume when set")
    resources: DataResources
    anti_affinity: Literal["preferred", "required"] = "preferred"
    parameters: dict[str, str] = Field(default_factory=dict, description="extra postgresql.conf parameters")
    pooler_instances: int = Field(ge=1, le=20)
    pool_mode: Literal["session", "transaction"] = "transaction"
    max_client_connections: int = Field(default=1000, ge=10, le=100000)
    default_pool_size: int = Field(default=20, ge=1, le=1000)


class RedisConfig(Section):
    """The Redis cache StatefulSet."""

    replicas: int = Field(ge=1, le=9, description="pod 0 is the primary, the others replicate from it")
    maxmemory: MemoryQuantity = Field(description="Redis maxmemory; must fit well inside the memory limit")
    maxmemory_policy: Literal["allkeys-lru", "allkeys-lfu", "volatile-lru", "volatile-lfu"] = "allkeys-lru"
    storage_size: MemoryQuantity
    storage_class: DnsSubdomain | None = None
    append_only: bool = Field(default=False, description="AOF persistence on top of RDB snapshots")
    anti_affinity: Literal["preferred", "required"] = "preferred"
    resources: DataResources


class DataConfig(Section):
    """Everything the data tier differs in between stages."""

    operator_namespace: DnsLabel = "cnpg-system"
    operator_replicas: int = Field(default=1, ge=1, le=3)
    postgres: PostgresConfig
    redis: RedisConfig

    @field_validator("redis")
    @classmethod
    def _maxmemory_below_limit(cls, redis: RedisConfig) -> RedisConfig:
        # Redis needs headroom above maxmemory for buffers and copy-on-write during snapshots
        if memory_bytes(redis.maxmemory) * 4 > memory_bytes(redis.resources.memory) * 3:
            raise ValueError(
                f"maxmemory {redis.maxmemory} must be at most 75% of the memory limit {redis.resources.memory}"
            )
        return redis
