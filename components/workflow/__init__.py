"""The workflow service: namespace, Deployment, Service, PDB and HPA.

The pod follows the service contract in the README: HTTP on one port with
`/healthz`, `/readyz` and `/metrics`, settings from a ConfigMap, credentials
only through Secret references.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.config.schema import ServiceConfig
from components.kube import (
    SECRET_ENV_REASON,
    checkov_skips,
    child,
    restricted_container_security_context,
    restricted_namespace,
    restricted_pod_security_context,
    selector_labels,
    standard_labels,
    tag_only_image_reasons,
)

APP_NAME = "workflow-service"
PORT_NAME = "http"
SCRATCH_MOUNT = "/tmp"


@dataclass(frozen=True)
class SecretEnv:
    """An environment variable filled from a key of a Kubernetes Secret."""

    secret_name: pulumi.Input[str]
    key: str


@dataclass(frozen=True)
class WorkflowServiceArgs:
    namespace: str
    image: str
    settings: ServiceConfig
    zones: list[str] = field(default_factory=list)
    #: credentials: environment variable -> key of a Secret in the service's namespace
    secret_env: dict[str, SecretEnv] = field(default_factory=dict)
    #: non-secret connection settings (hosts, ports, names), placed in the ConfigMap
    connection_settings: dict[str, pulumi.Input[str]] = field(default_factory=dict)


def checksum_of_settings(data: dict[str, str]) -> str:
    """sha256 of the settings; keys sorted, since the provider returns the map in no fixed order."""
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


class WorkflowService(pulumi.ComponentResource):
    """The workflow service and everything that keeps it available."""

    namespace: pulumi.Output[str]
    service_name: pulumi.Output[str]

    def __init__(self, name: str, args: WorkflowServiceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("wf:workflow:WorkflowService", name, None, opts)
        settings = args.settings
        labels = standard_labels(APP_NAME, "api")
        selector = selector_labels(APP_NAME)
        metadata = {"name": APP_NAME, "namespace": args.namespace, "labels": labels}

        namespace = restricted_namespace(f"{name}-namespace", args.namespace, "api", child(self))
        in_namespace = child(self, depends_on=[namespace])

        account = k8s.core.v1.ServiceAccount(
            f"{name}-account", metadata=metadata, automount_service_account_token=False, opts=in_namespace
        )
        config_map = k8s.core.v1.ConfigMap(
            f"{name}-settings",
            metadata={**metadata, "name": f"{APP_NAME}-settings"},
            data={
                "PORT": str(settings.port),
                "LOG_LEVEL": settings.log_level,
                "LOG_FORMAT": "ecs-json",
                **args.connection_settings,
                **settings.settings,
            },
            opts=in_namespace,
        )
        # envFrom is read at pod start only: a changed ConfigMap must roll the pods
        settings_checksum = config_map.data.apply(checksum_of_settings)

        env = [
            {"name": key, "valueFrom": {"secretKeyRef": {"name": ref.secret_name, "key": ref.key}}}
            for key, ref in sorted(args.secret_env.items())
        ]
        probe = {"httpGet": {"path": "/healthz", "port": PORT_NAME}, "periodSeconds": 10, "timeoutSeconds": 2}
        container = {
            "name": APP_NAME,
            "image": args.image,
            "imagePullPolicy": "IfNotPresent",
            "ports": [{"name": PORT_NAME, "containerPort": settings.port, "protocol": "TCP"}],
            "envFrom": [{"configMapRef": {"name": config_map.metadata["name"]}}],
            "env": env,
            "resources": settings.resources.as_kubernetes(),
            "securityContext": restricted_container_security_context(),
            # startup gives a cold start 2 minutes before liveness may restart the pod
            "startupProbe": {**probe, "failureThreshold": 24, "periodSeconds": 5},
            "livenessProbe": {**probe, "failureThreshold": 3},
            "readinessProbe": {
                "httpGet": {"path": "/readyz", "port": PORT_NAME},
                "periodSeconds": 5,
                "timeoutSeconds": 2,
                "failureThreshold": 2,
            },
            # keep serving while endpoints drop this pod from load balancers, then SIGTERM
            "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
            "volumeMounts": [{"name": "scratch", "mountPath": SCRATCH_MOUNT}],
        }
        spread = [
            {
                "maxSkew": 1,
                "topologyKey": key,
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": selector},
            }
            for key in (["topology.kubernetes.io/zone"] if args.zones else []) + ["kubernetes.io/hostname"]
        ]
        skips = {**({"CKV_K8S_35": SECRET_ENV_REASON} if args.secret_env else {}), **tag_only_image_reasons(args.image)}
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata={**metadata, **({"annotations": checkov_skips(skips)} if skips else {})},
            # no `replicas`: the HPA owns the count (minReplicas below); setting it here would make the next
            # `pulumi up` after a scale-out fail with a server-side-apply conflict on .spec.replicas
            spec={
                "revisionHistoryLimit": 10,
                "selector": {"matchLabels": selector},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
                "template": {
                    "metadata": {
                        "labels": {**labels, **selector},
                        "annotations": {"checksum/settings": settings_checksum},
                    },
                    "spec": {
                        "serviceAccountName": account.metadata["name"],
                        "automountServiceAccountToken": False,
                        "terminationGracePeriodSeconds": settings.termination_grace_period_seconds,
                        "securityContext": restricted_pod_security_context(),
                        "topologySpreadConstraints": spread,
                        "containers": [container],
                        "volumes": [{"name": "scratch", "emptyDir": {"sizeLimit": "64Mi"}}],
                    },
                },
            },
            opts=in_namespace,
        )
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=metadata,
            spec={
                "type": "ClusterIP",
                "selector": selector,
                "ports": [{"name": PORT_NAME, "port": 80, "targetPort": PORT_NAME, "protocol": "TCP"}],
            },
            opts=in_namespace,
        )
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=metadata,
            spec={
                # one pod may be evicted at a time, and never the last one
                "maxUnavailable": 1 if settings.replicas > 1 else 0,
                "selector": {"matchLabels": selector},
            },
            opts=in_namespace,
        )
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{name}-hpa",
            metadata=metadata,
            spec={
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment.metadata["name"]},
                "minReplicas": settings.replicas,
                "maxReplicas": settings.max_replicas,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {
                                "type": "Utilization",
                                "averageUtilization": settings.cpu_target_utilization_percent,
                            },
                        },
                    }
                ],
            },
            opts=in_namespace,
        )

        self.namespace = namespace.metadata["name"]
        self.service_name = service.metadata["name"]
        self.register_outputs({"namespace": self.namespace, "service_name": self.service_name})
