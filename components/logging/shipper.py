"""Filebeat (ECK Beat, DaemonSet): every node's container logs to Elasticsearch, workflow ECS JSON decoded.

The Beat reads host paths, which Pod Security `baseline` and `restricted`
forbid: it lives in its own namespace labelled `privileged`, and its container
is still as tight as log reading allows (no privilege escalation, no
capabilities, read-only root and log mounts). It runs as UID 0 only because
the kubelet writes log files readable by root alone.
"""

from __future__ import annotations

from typing import Any

from components.config.logging import LoggingConfig
from components.kube import standard_labels
from components.logging.retention import DATA_STREAM
from components.logging.facts import BEAT_CONTAINER, BEAT_NAME, ELASTICSEARCH_NAME

#: Indices the role ECK gives a Filebeat's `elasticsearchRef` user may write (eck_beat_es_filebeat_role_v77, read
#: from elastic/cloud-on-k8s pkg/controller/elasticsearch/user/roles.yaml@v3.2.0); a bulk write elsewhere is refused.
ECK_BEAT_WRITABLE_INDICES = ("filebeat-*", "logs-*")
CONTAINER_LOGS = "/var/log/containers"
#: /var/log/containers holds symlinks into /var/log/pods, so both are mounted.
POD_LOGS = "/var/log/pods"


def filebeat_config(config: LoggingConfig, workflow_namespace: str) -> dict[str, Any]:
    """The `filebeat.yml` of the stage (ECK adds the Elasticsearch hosts, credentials and CA)."""
    decode_when = {
        "and": [
            {"equals": {"kubernetes.namespace": workflow_namespace}},
            # only lines that look like a JSON object are decoded; anything else stays a plain `message`
            {"regexp": {"message": r"^\s*\{"}},
        ]
    }
    processors: list[dict[str, Any]] = [
        {
            "add_kubernetes_metadata": {
                "host": "${NODE_NAME}",
                "matchers": [{"logs_path": {"logs_path": f"{CONTAINER_LOGS}/"}}],
            }
        },
        {
            "decode_json_fields": {
                "fields": ["message"],
                "target": "",
                "overwrite_keys": True,
                # ECS dotted keys ("log.level") become objects, so they land on the mapped fields
                "expand_keys": True,
                "add_error_key": False,  # an undecodable line stays a plain message, never a fake `error.*`
                "max_depth": 3,
                "when": decode_when,
            }
        },
    ]
    if config.shipper.exclude_namespaces:
        processors.append(
            {
                "drop_event": {
                    "when": {
                        "or": [{"equals": {"kubernetes.namespace": name}} for name in config.shipper.exclude_namespaces]
                    }
                }
            }
        )
    return {
        "filebeat.inputs": [
            {
                "type": "filestream",
                "id": "kubernetes-container-logs",
                "paths": [f"{CONTAINER_LOGS}/*.log"],
                "prospector.scanner.symlinks": True,
                # the container parser unwraps the CRI/docker line format into the log line itself
                "parsers": [{"container": {"stream": "all", "format": "auto"}}],
            }
        ],
        "processors": processors,
        # the setup job owns the index template and ILM policy; Filebeat must not install its own
        "setup.ilm.enabled": False,
        "setup.template.enabled": False,
        "output.elasticsearch": {"index": DATA_STREAM},
        "logging.level": "warning",
    }


def beat_spec(
    config: LoggingConfig,
    workflow_namespace: str,
    elasticsearch_namespace: str,
    service_account: str,
    image: str | None,
) -> dict[str, Any]:
    shipper = config.shipper
    container = {
        "name": BEAT_CONTAINER,
        "resources": shipper.resources.as_kubernetes(),
        "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
        "securityContext": {
            "runAsUser": 0,
            "runAsNonRoot": False,
            "privileged": False,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [
            {"name": "container-logs", "mountPath": CONTAINER_LOGS, "readOnly": True},
            {"name": "pod-logs", "mountPath": POD_LOGS, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    spec: dict[str, Any] = {
        "type": "filebeat",
        "version": config.version,
        "elasticsearchRef": {"name": ELASTICSEARCH_NAME, "namespace": elasticsearch_namespace},
        "config": filebeat_config(config, workflow_namespace),
        "daemonSet": {
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "podTemplate": {
                "metadata": {"labels": standard_labels(BEAT_NAME, "logging")},
                "spec": {
                    "serviceAccountName": service_account,
                    "automountServiceAccountToken": True,  # add_kubernetes_metadata reads the API
                    "dnsPolicy": "ClusterFirst",
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                    # logs of every node, control plane and tainted nodes included
                    "tolerations": [{"operator": "Exists"}],
                    "containers": [container],
                    "volumes": [
                        {"name": "container-logs", "hostPath": {"path": CONTAINER_LOGS, "type": "Directory"}},
                        {"name": "pod-logs", "hostPath": {"path": POD_LOGS, "type": "Directory"}},
                        # ECK's data volume: the registry of read offsets survives pod restarts
                        {
                            "name": "beat-data",
                            "hostPath": {"path": f"/var/lib/{shipper.namespace}/{BEAT_NAME}-data", "type": "DirectoryOrCreate"},
                        },
                        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                    ],
                },
            },
        },
    }
    if image:
        spec["image"] = image
    return spec


#: What add_kubernetes_metadata reads: pods and their owners, namespaces and nodes.
CLUSTER_ROLE_RULES = [
    {"apiGroups": [""], "resources": ["pods", "namespaces", "nodes"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "watch"]},
]
