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
        metadata = {"name": CACHE_NAME, "namespace": args.namespace, "labels": standard_labels(CACHE_NAME, "cache")}

        account = k8s.core.v1.ServiceAccount(
            f"{name}-account", metadata=metadata, automount_service_account_token=False, opts=child(self)
        )
        config = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata={**metadata, "name": f"{CACHE_NAME}-config"},
            data={"redis.conf": redis_conf(args.settings), "start.sh": START_SCRIPT.format(run=RUNTIME_DIR, port=PORT)},
            opts=child(self),
        )
        headless, primary = self._services(name, metadata)
        stateful_set = self._stateful_set(name, args, metadata, account, config, headless)
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=metadata,
            spec={"maxUnavailable": 1, "selector": {"matchLabels": selector_labels(CACHE_NAME)}},
            opts=child(self),
        )

        self.service_name = primary.metadata["name"]
        self.stateful_set_name = stateful_set.metadata["name"]
        self.register_outputs({"service_name": self.service_name})

    def _services(self, name: str, metadata: dict) -> tuple[k8s.core.v1.Service, k8s.core.v1.Service]:
        """The headless Service that names each pod, and the primary's Service (clients write, so pod 0 only)."""
        selector = selector_labels(CACHE_NAME)
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
        return headless, primary

    def _stateful_set(
        self,
        name: str,
        args: RedisCacheArgs,
        metadata: dict,
        account: k8s.core.v1.ServiceAccount,
        config: k8s.core.v1.ConfigMap,
        headless: k8s.core.v1.Service,
    ) -> k8s.apps.v1.StatefulSet:
        """The pods: spread and kept apart, each with its data volume, Redis and the exporter side by side."""
        settings = args.settings
        selector = selector_labels(CACHE_NAME)
        storage = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": settings.storage_size}}}
        if settings.storage_class:
            storage["storageClassName"] = settings.storage_class
        skips = {"CKV_K8S_35": SECRET_ENV_REASON, **tag_only_image_reasons(args.image, args.exporter_image)}
        return k8s.apps.v1.StatefulSet(
            f"{name}-statefulset",
            metadata={**metadata, "annotations": checkov_skips(skips)},
            spec={
                "serviceName": headless.metadata["name"],
                "replicas": settings.replicas,
                "selector": {"matchLabels": selector},
                "updateStrategy": {"type": "RollingUpdate"},
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
                "template": {
                    "metadata": {"labels": {**metadata["labels"], **selector}},
                    "spec": {
                        "serviceAccountName": account.metadata["name"],
                        "automountServiceAccountToken": False,
                        "terminationGracePeriodSeconds": 30,
                        "securityContext": restricted_pod_security_context(REDIS_UID),
                        "affinity": {"podAntiAffinity": anti_affinity(settings.anti_affinity, selector)},
                        "topologySpreadConstraints": zone_spread(args.zones, selector),
                        "containers": [redis_container(args), exporter_container(args)],
                        "volumes": [
                            {"name": "config", "configMap": {"name": config.metadata["name"], "defaultMode": 0o444}},
                            {"name": "runtime", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
                            {"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}},
                        ],
                    },
                },
                "volumeClaimTemplates": [{"metadata": {"name": "data", "labels": metadata["labels"]}, "spec": storage}],
            },
            opts=child(self),
        )


def _password_env(args: RedisCacheArgs) -> dict:
    return {"name": "REDIS_PASSWORD", "valueFrom": {"secretKeyRef": {"name": args.auth_secret_name, "key": "password"}}}


def redis_container(args: RedisCacheArgs) -> dict:
    """redis-server, started by the script that writes its auth and role includes; probes authenticate."""
    authenticated_ping = {
        "exec": {"command": ["sh", "-c", f'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -p {PORT} ping | grep -q PONG']}
    }
    return {
        "name": "redis",
        "image": args.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["sh", "/etc/redis/start.sh"],
        "env": [
            _password_env(args),
            {"name": "PRIMARY_HOST", "value": pulumi.Output.concat(CACHE_NAME, "-0.", HEADLESS_NAME, ".", args.namespace, ".svc")},
        ],
        "ports": [{"name": "redis", "containerPort": PORT, "protocol": "TCP"}],
        "resources": args.settings.resources.as_kubernetes(),
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


def exporter_container(args: RedisCacheArgs) -> dict:
    """redis_exporter beside Redis, serving the metrics port the PodMonitor scrapes."""
    return {
        "name": "redis-exporter",
        "image": args.exporter_image,
        "imagePullPolicy": "IfNotPresent",
        "env": [{"name": "REDIS_ADDR", "value": f"redis://127.0.0.1:{PORT}"}, _password_env(args)],
        "ports": [{"name": METRICS_PORT_NAME, "containerPort": REDIS_METRICS_PORT, "protocol": "TCP"}],
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}},
        "securityContext": restricted_container_security_context(),
        "readinessProbe": {"httpGet": {"path": "/health", "port": METRICS_PORT_NAME}, "periodSeconds": 10},
        "livenessProbe": {"httpGet": {"path": "/health", "port": METRICS_PORT_NAME}, "periodSeconds": 20, "failureThreshold": 3},
    }


def anti_affinity(mode: str, selector: dict[str, str]) -> dict:
    """Keep the pods on different nodes: always (`required`) or where the scheduler can (`preferred`)."""
    term = {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": selector}}
    if mode == "required":
        return {"requiredDuringSchedulingIgnoredDuringExecution": [term]}
    return {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": term}]}


def zone_spread(zones: list[str], selector: dict[str, str]) -> list[dict]:
    """Spread over the stage's zones, when it has any."""
    if not zones:
        return []
    return [
        {
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": selector},
        }
    ]
