"""The Redis cache: a hardened StatefulSet, pod 0 the primary, further pods its replicas."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.config.data import RedisConfig
from components.config.types import memory_bytes
from components.kube import (
    SECRET_ENV_REASON,
    checkov_skips,
    child,
    restricted_container_security_context,
    restricted_pod_security_context,
    selector_labels,
    standard_labels,
    tag_only_image_reasons,
)

from .facts import CACHE_NAME, HEADLESS_NAME, METRICS_PORT_NAME, REDIS_METRICS_PORT
from .facts import REDIS_PORT as PORT

#: a high uid outside the image's and the host's accounts; redis-server needs no passwd entry and
#: fsGroup makes the data volume writable for it
REDIS_UID = 10001
RUNTIME_DIR = "/run/redis"

#: Writes the password (from the Secret, via env) into a tmpfs include file, so it never appears in
#: the process list, and makes every pod but ordinal 0 a replica of pod 0.
START_SCRIPT = """set -eu
umask 077
printf 'requirepass %s\\nmasterauth %s\\n' "$REDIS_PASSWORD" "$REDIS_PASSWORD" > {run}/auth.conf
: > {run}/role.conf
ordinal="${{HOSTNAME##*-}}"
if [ "$ordinal" != "0" ]; then
  printf 'replicaof %s %s\\n' "$PRIMARY_HOST" "{port}" > {run}/role.conf
fi
exec redis-server /etc/redis/redis.conf
"""


def redis_conf(settings: RedisConfig) -> str:
    """redis.conf for a cache: bounded memory, LRU eviction, snapshots (and AOF where configured)."""
    lines = [
        "bind * -::*",
        f"port {PORT}",
        "protected-mode yes",
        "dir /data",
        f"maxmemory {memory_bytes(settings.maxmemory)}",
        f"maxmemory-policy {settings.maxmemory_policy}",
        "save 900 1 300 10 60 10000",
        f"appendonly {'yes' if settings.append_only else 'no'}",
        "replica-read-only yes",
        "tcp-keepalive 60",
        # administrative commands an application never needs
        'rename-command FLUSHALL ""',
        'rename-command DEBUG ""',
        f"include {RUNTIME_DIR}/auth.conf",
        f"include {RUNTIME_DIR}/role.conf",
    ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class RedisCacheArgs:
    namespace: pulumi.Input[str]
    image: str
    exporter_image: str
    settings: RedisConfig
    auth_secret_name: pulumi.Input[str]
    zones: list[str] = field(default_factory=list)


class RedisCache(pulumi.ComponentResource):
    """Redis with persistence on a PVC, non-root, read-only root filesystem and a redis_exporter sidecar."""

    def __init__(self, name: str, args: RedisCacheArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("wf:data:RedisCache", name, None, opts)
        settings = args.settings
        labels = standard_labels(CACHE_NAME, "cache")
        selector = selector_labels(CACHE_NAME)
        metadata = {"name": CACHE_NAME, "namespace": args.namespace, "labels": labels}

        account = k8s.core.v1.ServiceAccount(
            f"{name}-account", metadata=metadata, automount_service_account_token=False, opts=child(self)
        )
        config = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata={**metadata, "name": f"{CACHE_NAME}-config"},
            data={"redis.conf": redis_conf(settings), "start.sh": START_SCRIPT.format(run=RUNTIME_DIR, port=PORT)},
            opts=child(self),
        )
        headless = k8s.core.v1.Service(
            f"{name}-headless",
            metadata={**metadata, "name": HEADLESS_NAME},
            spec={
                "clusterIP": "None",
                "selector": selector,
                "ports": [
                    {"name": "redis", "port": PORT, "targetPort": "redis", "protocol": "TCP"},
                    {"name": METRICS_PORT_NAME, "port": REDIS_METRICS_PORT, "targetPort": METRICS_PORT_NAME, "protocol": "TCP"},
                ],
            },
            opts=child(self),
        )
        # clients write, so they reach the primary (pod 0) only
        primary = k8s.core.v1.Service(
            f"{name}-service",
            metadata=metadata,
            spec={
                "type": "ClusterIP",
                "selector": {**selector, "statefulset.kubernetes.io/pod-name": f"{CACHE_NAME}-0"},
                "ports": [{"name": "redis", "port": PORT, "targetPort": "redis", "protocol": "TCP"}],
            },
            opts=child(self),
        )

        password_env = {"name": "REDIS_PASSWORD", "valueFrom": {"secretKeyRef": {"name": args.auth_secret_name, "key": "password"}}}
        authenticated_ping = {
            "exec": {"command": ["sh", "-c", f'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -p {PORT} ping | grep -q PONG']}
        }
        redis = {
            "name": "redis",
            "image": args.image,
            "imagePullPolicy": "IfNotPresent",
            "command": ["sh", "/etc/redis/start.sh"],
            "env": [
                password_env,
                {"name": "PRIMARY_HOST", "value": pulumi.Output.concat(CACHE_NAME, "-0.", HEADLESS_NAME, ".", args.namespace, ".svc")},
            ],
            "ports": [{"name": "redis", "containerPort": PORT, "protocol": "TCP"}],
            "resources": settings.resources.as_kubernetes(),
            "securityContext": restricted_container_security_context(),
            "startupProbe": {**authenticated_ping, "periodSeconds": 5, "failureThreshold": 60, "timeoutSeconds": 3},
            "livenessProbe": {"tcpSocket": {"port": "redis"}, "periodSeconds": 10, "failureThreshold": 3},
            "readinessProbe": {**authenticated_ping, "periodSeconds": 5, "failureThreshold": 2, "timeoutSeconds": 3},
            "volumeMounts": [
                {"name": "data", "mountPath": "/data"},
                {"name": "config", "mountPath": "/etc/redis", "readOnly": True},
                {"name": "runtime", "mountPath": RUNTIME_DIR},
                {"name": "tmp", "mountPath": "/tmp"},
            ],
        }
        exporter = {
            "name": "redis-exporter",
            "image": args.exporter_image,
            "imagePullPolicy": "IfNotPresent",
            "env": [{"name": "REDIS_ADDR", "value": f"redis://127.0.0.1:{PORT}"}, password_env],
            "ports": [{"name": METRICS_PORT_NAME, "containerPort": REDIS_METRICS_PORT, "protocol": "TCP"}],
            "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}},
            "securityContext": restricted_container_security_context(),
            "readinessProbe": {"httpGet": {"path": "/health", "port": METRICS_PORT_NAME}, "periodSeconds": 10},
            "livenessProbe": {"httpGet": {"path": "/health", "port": METRICS_PORT_NAME}, "periodSeconds": 20, "failureThreshold": 3},
        }
        anti_affinity_term = {
            "topologyKey": "kubernetes.io/hostname",
            "labelSelector": {"matchLabels": selector},
        }
        affinity = (
            {"requiredDuringSchedulingIgnoredDuringExecution": [anti_affinity_term]}
            if settings.anti_affinity == "required"
            else {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": anti_affinity_term}]}
        )
        spread = [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": selector},
            }
        ] if args.zones else []
        storage = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": settings.storage_size}}}
        if settings.storage_class:
            storage["storageClassName"] = settings.storage_class
        skips = {"CKV_K8S_35": SECRET_ENV_REASON, **tag_only_image_reasons(args.image, args.exporter_image)}
        stateful_set = k8s.apps.v1.StatefulSet(
            f"{name}-statefulset",
            metadata={**metadata, "annotations": checkov_skips(skips)},
            spec={
                "serviceName": headless.metadata["name"],
                "replicas": settings.replicas,
                "selector": {"matchLabels": selector},
                "updateStrategy": {"type": "RollingUpdate"},
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
                "template": {
                    "metadata": {"labels": {**labels, **selector}},
                    "spec": {
                        "serviceAccountName": account.metadata["name"],
                        "automountServiceAccountToken": False,
                        "terminationGracePeriodSeconds": 30,
                        "securityContext": restricted_pod_security_context(REDIS_UID),
                        "affinity": {"podAntiAffinity": affinity},
                        "topologySpreadConstraints": spread,
                        "containers": [redis, exporter],
                        "volumes": [
                            {"name": "config", "configMap": {"name": config.metadata["name"], "defaultMode": 0o444}},
                            {"name": "runtime", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
                            {"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}},
                        ],
                    },
                },
                "volumeClaimTemplates": [{"metadata": {"name": "data", "labels": labels}, "spec": storage}],
            },
            opts=child(self),
        )
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=metadata,
            spec={"maxUnavailable": 1, "selector": {"matchLabels": selector}},
            opts=child(self),
        )

        self.service_name = primary.metadata["name"]
        self.stateful_set_name = stateful_set.metadata["name"]
        self.register_outputs({"service_name": self.service_name})
