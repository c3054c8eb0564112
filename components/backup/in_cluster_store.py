"""An S3-compatible server on a volume in the data namespace, for stages without a cloud account.

It keeps backups off the database's own volume and lets the job speak the
same S3 protocol everywhere; it is not off-site (see docs/backup.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.config.backup import InClusterStoreConfig
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

from .facts import STORE_NAME
from .facts import STORE_PORT as PORT

CREDENTIALS_SECRET = f"{STORE_NAME}-credentials"
REGION = "us-east-1"  # any name works for a single-site server; boto3 needs one


@dataclass(frozen=True)
class InClusterObjectStoreArgs:
    namespace: str
    image: str
    settings: InClusterStoreConfig


class InClusterObjectStore(pulumi.ComponentResource):
    """Deployment (versitygw, POSIX backend), PVC, Service, and generated credentials in a Secret."""

    endpoint: str
    credentials_secret: pulumi.Output[str]

    def __init__(self, name: str, args: InClusterObjectStoreArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("wf:backup:InClusterObjectStore", name, None, opts)
        labels = standard_labels(STORE_NAME, "backup-store")
        selector = selector_labels(STORE_NAME)
        metadata = {"name": STORE_NAME, "namespace": args.namespace, "labels": labels}

        access_key = random.RandomPassword(f"{name}-access-key", length=20, special=False, opts=child(self))
        secret_key = random.RandomPassword(f"{name}-secret-key", length=40, special=False, opts=child(self))
        secret = k8s.core.v1.Secret(
            f"{name}-credentials",
            metadata={**metadata, "name": CREDENTIALS_SECRET},
            type="Opaque",
            string_data={"accessKeyId": access_key.result, "secretAccessKey": secret_key.result},
            opts=child(self),
        )
        volume = k8s.core.v1.PersistentVolumeClaim(
            f"{name}-volume",
            metadata=metadata,
            spec={
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": args.settings.volume_size}},
                **({"storageClassName": args.settings.storage_class_name} if args.settings.storage_class_name else {}),
            },
            opts=child(self),
        )
        # the gateway reads its root credentials from the environment only
        skips = {"CKV_K8S_35": SECRET_ENV_REASON, **tag_only_image_reasons(args.image)}
        k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata={**metadata, "annotations": checkov_skips(skips)},
            spec={
                "replicas": 1,
                "strategy": {"type": "Recreate"},  # one writer on a ReadWriteOnce volume
                "selector": {"matchLabels": selector},
                "template": {
                    "metadata": {"labels": {**labels, **selector}},
                    "spec": {
                        "automountServiceAccountToken": False,
                        "securityContext": restricted_pod_security_context(),
                        "containers": [store_container(args.image)],
                        "volumes": [
                            {"name": "data", "persistentVolumeClaim": {"claimName": STORE_NAME}},
                            {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                        ],
                    },
                },
            },
            opts=child(self, depends_on=[secret, volume]),
        )
        k8s.core.v1.Service(
            f"{name}-service",
            metadata=metadata,
            spec={"type": "ClusterIP", "selector": selector,
                  "ports": [{"name": "s3", "port": PORT, "targetPort": "s3", "protocol": "TCP"}]},
            opts=child(self),
        )
        self.endpoint = f"http://{STORE_NAME}.{args.namespace}.svc:{PORT}"
        self.credentials_secret = secret.metadata["name"]
        self.register_outputs({"endpoint": self.endpoint, "credentials_secret": self.credentials_secret})


def store_container(image: str) -> dict:
    """versitygw serving S3 from its POSIX backend on the volume, root credentials from the Secret."""
    from_secret = lambda key: {"secretKeyRef": {"name": CREDENTIALS_SECRET, "key": key}}  # noqa: E731
    return {
        "name": "s3",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "args": ["--port", f":{PORT}", "posix", "/data"],
        "env": [
            {"name": "ROOT_ACCESS_KEY", "valueFrom": from_secret("accessKeyId")},
            {"name": "ROOT_SECRET_KEY", "valueFrom": from_secret("secretAccessKey")},
        ],
        "ports": [{"name": "s3", "containerPort": PORT, "protocol": "TCP"}],
        "readinessProbe": {"tcpSocket": {"port": "s3"}, "periodSeconds": 10},
        "livenessProbe": {"tcpSocket": {"port": "s3"}, "periodSeconds": 20},
        "resources": {
            "requests": {"cpu": "50m", "memory": "64Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi"},
        },
        "securityContext": restricted_container_security_context(),
        "volumeMounts": [{"name": "data", "mountPath": "/data"},
                         {"name": "tmp", "mountPath": "/tmp"}],
    }
