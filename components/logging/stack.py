"""Specs of the ECK custom resources for Elasticsearch and Kibana (plain dicts, validated against the CRDs)."""

from __future__ import annotations

from typing import Any

import pulumi

from components.config.logging import LoggingConfig
from components.kube import restricted_container_security_context, standard_labels
from components.logging.facts import (
    ELASTICSEARCH_CONTAINER,
    ELASTICSEARCH_HTTP_PORT,
    ELASTICSEARCH_NAME,
    HTTP_SERVICE,
    KIBANA_CONTAINER,
    KIBANA_NAME,
)

NODE_SET = "default"
#: ECK's fixed names: the data volume claim, the elastic user's Secret and the public HTTP CA.
DATA_VOLUME = "elasticsearch-data"
ELASTIC_USER_SECRET = f"{ELASTICSEARCH_NAME}-es-elastic-user"
HTTP_CA_SECRET = f"{ELASTICSEARCH_NAME}-es-http-certs-public"
ZONE_LABEL = "topology.kubernetes.io/zone"
#: The S3 repository plugin only reads a web identity token from below its config directory.
WEB_IDENTITY_DIR = "/usr/share/elasticsearch/config/repository-s3"
WEB_IDENTITY_FILE = "aws-web-identity-token-file"
#: UID/GID of the elasticsearch user in the official images.
ELASTIC_UID = 1000


def http_url(namespace: str) -> str:
    """The in-cluster HTTPS endpoint of the cluster (ECK's `<name>-es-http` Service)."""
    return f"https://{HTTP_SERVICE}.{namespace}.svc:{ELASTICSEARCH_HTTP_PORT}"


def _pod_security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": ELASTIC_UID,
        # no runAsGroup: the official images keep group 0 as the primary group of their user
        "fsGroup": ELASTIC_UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def node_config(config: LoggingConfig, zones: list[str], snapshot_region: str | None) -> dict[str, Any]:
    """The `elasticsearch.yml` settings of the node set (ECK adds discovery, TLS and paths)."""
    settings: dict[str, Any] = {
        # mmap needs vm.max_map_count raised on the host, i.e. a privileged init container: not here
        "node.store.allow_mmap": False,
        "node.roles": ["master", "data", "ingest"],
    }
    if zones:
        # replicas of a shard never share a zone (ECK exposes the node's zone label through the downward API)
        settings["node.attr.zone"] = "${ZONE}"
        settings["cluster.routing.allocation.awareness.attributes"] = "k8s_node_name,zone"
    if snapshot_region:
        settings["s3.client.default.endpoint"] = f"s3.{snapshot_region}.amazonaws.com"
    return settings


def elasticsearch_spec(
    config: LoggingConfig,
    zones: list[str],
    image: str | None,
    service_account: str | None = None,
    snapshot_role_arn: pulumi.Input[str] | None = None,
    snapshot_region: str | None = None,
) -> dict[str, Any]:
    es = config.elasticsearch
    labels = standard_labels(ELASTICSEARCH_NAME, "logging")
    env: list[dict[str, Any]] = []
    volume_mounts: list[dict[str, Any]] = []
    volumes: list[dict[str, Any]] = []
    if zones:
        env.append({"name": "ZONE", "valueFrom": {"fieldRef": {"fieldPath": f"metadata.annotations['{ZONE_LABEL}']"}}})
    if snapshot_role_arn is not None:
        env += [
            {"name": "AWS_ROLE_ARN", "value": snapshot_role_arn},
            {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": f"{WEB_IDENTITY_DIR}/{WEB_IDENTITY_FILE}"},
        ]
        volume_mounts.append({"name": "aws-web-identity", "mountPath": WEB_IDENTITY_DIR, "readOnly": True})
        volumes.append(
            {
                "name": "aws-web-identity",
                "projected": {
                    "sources": [
                        {
                            "serviceAccountToken": {
                                "audience": "sts.amazonaws.com",
                                "expirationSeconds": 86400,
                                "path": WEB_IDENTITY_FILE,
                            }
                        }
                    ]
                },
            }
        )
    container: dict[str, Any] = {
        "name": ELASTICSEARCH_CONTAINER,
        "resources": es.resources.as_kubernetes(),
        "securityContext": restricted_container_security_context(),
    }
    if env:
        container["env"] = env
    if volume_mounts:
        container["volumeMounts"] = volume_mounts
    pod_spec: dict[str, Any] = {
        "securityContext": _pod_security_context(),
        "automountServiceAccountToken": False,
        "containers": [container],
    }
    if volumes:
        pod_spec["volumes"] = volumes
    if service_account:
        pod_spec["serviceAccountName"] = service_account
    pod_metadata: dict[str, Any] = {"labels": labels}
    if zones:
        pod_spec["topologySpreadConstraints"] = [
            {
                "maxSkew": 1,
                "topologyKey": ZONE_LABEL,
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": {"elasticsearch.k8s.elastic.co/cluster-name": ELASTICSEARCH_NAME}},
            }
        ]
    claim_spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": es.storage_size}},
    }
    if es.storage_class:
        claim_spec["storageClassName"] = es.storage_class
    spec: dict[str, Any] = {
        "version": config.version,
        # keep the data volumes when the cluster resource is deleted by mistake
        "volumeClaimDeletePolicy": "DeleteOnScaledownOnly",
        "nodeSets": [
            {
                "name": NODE_SET,
                "count": es.node_count,
                "config": node_config(config, zones, snapshot_region if snapshot_role_arn is not None else None),
                "podTemplate": {"metadata": pod_metadata, "spec": pod_spec},
                "volumeClaimTemplates": [{"metadata": {"name": DATA_VOLUME}, "spec": claim_spec}],
            }
        ],
    }
    if image:
        spec["image"] = image
    return spec


def elasticsearch_annotations(zones: list[str]) -> dict[str, str]:
    """ECK copies these node labels onto the pods, where the downward API can read the zone."""
    return {"eck.k8s.elastic.co/downward-node-labels": ZONE_LABEL} if zones else {}


def kibana_spec(config: LoggingConfig, image: str | None) -> dict[str, Any]:
    kibana = config.kibana
    spec: dict[str, Any] = {
        "version": config.version,
        "count": kibana.replicas,
        "elasticsearchRef": {"name": ELASTICSEARCH_NAME},
        "podTemplate": {
            "metadata": {"labels": standard_labels(KIBANA_NAME, "logging")},
            "spec": {
                "securityContext": _pod_security_context(),
                "automountServiceAccountToken": False,
                "containers": [
                    {
                        "name": KIBANA_CONTAINER,
                        "resources": kibana.resources.as_kubernetes(),
                        "securityContext": restricted_container_security_context(),
                    }
                ],
            },
        },
    }
    if image:
        spec["image"] = image
    return spec
