"""The Job that runs `components.logging.retention_job` against the cluster, and its desired-state ConfigMap."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from components.kube import restricted_container_security_context, restricted_pod_security_context, standard_labels
from components.logging.facts import SETUP_JOB_MODULE, SETUP_NAME
from components.logging.stack import ELASTIC_USER_SECRET, HTTP_CA_SECRET, http_url

STATE_FILE = "desired-state.json"
STATE_DIR = "/etc/logging-setup"
CREDENTIALS_DIR = "/etc/elasticsearch/credentials"
CA_DIR = "/etc/elasticsearch/http-ca"


def state_document(state: dict[str, Any]) -> str:
    return json.dumps(state, indent=2, sort_keys=True) + "\n"


def job_name(state: dict[str, Any], image: str) -> str:
    """A new name whenever the desired state or the image changes, so Pulumi replaces the (immutable) Job."""
    digest = hashlib.sha256((state_document(state) + image).encode()).hexdigest()[:8]
    return f"{SETUP_NAME}-{digest}"


def job_spec(namespace: str, image: str, config_map_name: str) -> dict[str, Any]:
    labels = standard_labels(SETUP_NAME, "logging")
    container = {
        "name": SETUP_NAME,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["python", "-m", SETUP_JOB_MODULE],
        "env": [
            {"name": "ES_URL", "value": http_url(namespace)},
            {"name": "ES_CA_FILE", "value": f"{CA_DIR}/ca.crt"},
            {"name": "ES_USERNAME", "value": "elastic"},
            {"name": "ES_PASSWORD_FILE", "value": f"{CREDENTIALS_DIR}/elastic"},
            {"name": "LOGGING_SETUP_STATE", "value": f"{STATE_DIR}/{STATE_FILE}"},
            {"name": "ES_WAIT_SECONDS", "value": "1200"},
        ],
        "resources": {
            "requests": {"cpu": "50m", "memory": "64Mi"},
            "limits": {"cpu": "200m", "memory": "128Mi"},
        },
        "securityContext": restricted_container_security_context(),
        "volumeMounts": [
            {"name": "desired-state", "mountPath": STATE_DIR, "readOnly": True},
            {"name": "credentials", "mountPath": CREDENTIALS_DIR, "readOnly": True},
            {"name": "http-ca", "mountPath": CA_DIR, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    return {
        "backoffLimit": 6,
        # the cluster may still be forming on a first deployment: the job waits for it, then gives up
        "activeDeadlineSeconds": 3600,
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                "restartPolicy": "Never",
                "automountServiceAccountToken": False,
                "securityContext": restricted_pod_security_context(),
                "containers": [container],
                "volumes": [
                    {"name": "desired-state", "configMap": {"name": config_map_name}},
                    # ECK's Secrets: the elastic user's password and the public CA of the HTTP certificate
                    {
                        "name": "credentials",
                        "secret": {"secretName": ELASTIC_USER_SECRET, "items": [{"key": "elastic", "path": "elastic"}]},
                    },
                    {
                        "name": "http-ca",
                        "secret": {"secretName": HTTP_CA_SECRET, "items": [{"key": "ca.crt", "path": "ca.crt"}]},
                    },
                    {"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}},
                ],
            },
        },
    }
