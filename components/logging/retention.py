"""The Elasticsearch state the setup job converges to: ILM policy, index template, snapshot repository, SLM policy.

Pure data derived from the stage's `logging` section; the job (`retention_job`)
reads it as JSON and the render writes it to build/<stage>/logging/retention.json.
Values that Elasticsearch echoes back as strings (index settings, repository
settings) are written as strings so that a GET compares equal to the PUT.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.config.logging import LoggingConfig

#: The data stream Filebeat writes to; the index template matches it and nothing else. It must lie inside
#: the indices ECK's role lets the Beat's `elasticsearchRef` user write (shipper.ECK_BEAT_WRITABLE_INDICES).
DATA_STREAM = "filebeat-platform-containers"
INDEX_TEMPLATE = "platform-logs"
INDEX_PATTERN = "filebeat-platform-*"
ILM_POLICY = "platform-logs-retention"
SLM_POLICY = "platform-logs-snapshots"
#: Above every built-in template (`logs-*-*` has 100) so ours wins should a pattern ever overlap.
TEMPLATE_PRIORITY = 500


@dataclass(frozen=True)
class SnapshotTarget:
    """Where snapshots go: the stage's snapshot bucket (credentials come from the pod's IAM role)."""

    bucket: str
    region: str


def ilm_policy(config: LoggingConfig) -> dict[str, Any]:
    retention = config.retention
    return {
        "policy": {
            "_meta": {"managed_by": "workflow-platform logging setup job"},
            "phases": {
                "hot": {
                    "min_age": "0ms",
                    "actions": {
                        "rollover": {
                            "max_age": f"{retention.rollover_max_age_days}d",
                            "max_primary_shard_size": f"{retention.rollover_max_primary_shard_size_gb}gb",
                        }
                    },
                },
                "delete": {"min_age": f"{retention.days}d", "actions": {"delete": {}}},
            },
        }
    }


def index_replicas(config: LoggingConfig) -> int:
    """One replica whenever a second node can hold it; a single node stays green with none."""
    return 1 if config.elasticsearch.node_count > 1 else 0


def index_template(config: LoggingConfig) -> dict[str, Any]:
    keyword = {"type": "keyword", "ignore_above": 1024}
    return {
        "index_patterns": [INDEX_PATTERN],
        "data_stream": {},
        "priority": TEMPLATE_PRIORITY,
        "_meta": {"managed_by": "workflow-platform logging setup job"},
        "template": {
            "settings": {
                "index": {
                    "lifecycle": {"name": ILM_POLICY},
                    "number_of_shards": "1",
                    "number_of_replicas": str(index_replicas(config)),
                }
            },
            # the ECS fields the workflow service emits, so searches on them never depend on dynamic mapping
            "mappings": {
                "properties": {
                    "@timestamp": {"type": "date"},
                    "message": {"type": "match_only_text"},
                    "log": {"properties": {"level": keyword, "logger": keyword}},
                    "error": {
                        "properties": {
                            "type": keyword,
                            "message": {"type": "match_only_text"},
                            "stack_trace": {"type": "wildcard"},
                        }
                    },
                    "trace": {"properties": {"id": keyword}},
                    "service": {"properties": {"name": keyword}},
                }
            },
        },
    }


def snapshot_repository(config: LoggingConfig, target: SnapshotTarget) -> dict[str, Any]:
    return {
        "type": "s3",
        "settings": {
            "bucket": target.bucket,
            "base_path": config.snapshots.base_path,
            "client": "default",
            # no `server_side_encryption`: `true` asks S3 for AES256 (SSE-S3) per request, overriding the
            # bucket's SSE-KMS default; without it every snapshot file is encrypted under the bucket's own key
        },
    }


def slm_policy(config: LoggingConfig) -> dict[str, Any]:
    snapshots = config.snapshots
    return {
        "schedule": snapshots.quartz_schedule(),
        "name": "<platform-logs-{now/d}>",
        "repository": snapshots.repository,
        "config": {"indices": [INDEX_PATTERN], "include_global_state": False},
        "retention": {
            "expire_after": f"{snapshots.expire_after_days}d",
            "min_count": snapshots.min_count,
            "max_count": snapshots.max_count,
        },
    }


def desired_state(config: LoggingConfig, snapshot_target: SnapshotTarget | None) -> dict[str, Any]:
    """Everything the setup job applies, in the order it applies it."""
    state: dict[str, Any] = {
        "ilmPolicies": {ILM_POLICY: ilm_policy(config)},
        "indexTemplates": {INDEX_TEMPLATE: index_template(config)},
        "snapshotRepositories": {},
        "slmPolicies": {},
    }
    if snapshot_target is not None and config.snapshots.enabled:
        state["snapshotRepositories"][config.snapshots.repository] = snapshot_repository(config, snapshot_target)
        state["slmPolicies"][SLM_POLICY] = slm_policy(config)
    return state
