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
from components.facts import ServiceRef
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

from .facts import APP_NAME, COMPONENT, CONTAINER, HEALTH_PATH, PORT_NAME, READY_PATH, SERVICE_PORT

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
    #: what the edge routes to
    backend: ServiceRef
    #: the Namespaces it creates (the network policies land in them)
    owned_namespaces: list[k8s.core.v1.Namespace]

    def __init__(self, name: str, args: WorkflowServiceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("wf:workflow:WorkflowService", name, None, opts)
        metadata = {"name": APP_NAME, "namespace": args.namespace, "labels": standard_labels(APP_NAME, COMPONENT)}

        namespace = restricted_namespace(f"{name}-namespace", args.namespace, COMPONENT, child(self))
        in_namespace = child(self, depends_on=[namespace])

        account = k8s.core.v1.ServiceAccount(
            f"{name}-account", metadata=metadata, automount_service_account_token=False, opts=in_namespace
        )
        config_map = self._settings(name, args, metadata, in_namespace)
        deployment = self._deployment(name, args, metadata, account, config_map, in_namespace)
        service = self._service(name, metadata, in_namespace)
        self._availability(name, args.settings, metadata, deployment, in_namespace)

        self.owned_namespaces = [namespace]
        self.namespace = namespace.metadata["name"]
        self.service_name = service.metadata["name"]
        self.backend = ServiceRef(self.namespace, self.service_name, SERVICE_PORT)
        self.register_outputs({"namespace": self.namespace, "service_name": self.service_name})

    def _settings(
        self, name: str, args: WorkflowServiceArgs, metadata: dict, opts: pulumi.ResourceOptions
    ) -> k8s.core.v1.ConfigMap:
        """The non-secret settings, read by the pod through envFrom."""
        settings = args.settings
        return k8s.core.v1.ConfigMap(
            f"{name}-settings",
            metadata={**metadata, "name": f"{APP_NAME}-settings"},
            data={
                "PORT": str(settings.port),
                "LOG_LEVEL": settings.log_level,
                "LOG_FORMAT": "ecs-json",
                **args.connection_settings,
                **settings.settings,
            },
            opts=opts,
        )

    def _deployment(
        self,
        name: str,
        args: WorkflowServiceArgs,
        metadata: dict,
        account: k8s.core.v1.ServiceAccount,
        config_map: k8s.core.v1.ConfigMap,
        opts: pulumi.ResourceOptions,
    ) -> k8s.apps.v1.Deployment:
        """The pods, rolled whenever the settings change (envFrom is read at pod start only)."""
        settings = args.settings
        selector = selector_labels(APP_NAME)
        settings_checksum = config_map.data.apply(checksum_of_settings)
        skips = {**({"CKV_K8S_35": SECRET_ENV_REASON} if args.secret_env else {}), **tag_only_image_reasons(args.image)}
        return k8s.apps.v1.Deployment(
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
                        "labels": {**metadata["labels"], **selector},
                        "annotations": {"checksum/settings": settings_checksum},
                    },
                    "spec": {
                        "serviceAccountName": account.metadata["name"],
                        "automountServiceAccountToken": False,
                        "terminationGracePeriodSeconds": settings.termination_grace_period_seconds,
                        "securityContext": restricted_pod_security_context(),
                        "topologySpreadConstraints": spread_constraints(args.zones, selector),
                        "containers": [service_container(args, config_map.metadata["name"])],
                        "volumes": [{"name": "scratch", "emptyDir": {"sizeLimit": "64Mi"}}],
                    },
                },
            },
            opts=opts,
        )

    def _service(self, name: str, metadata: dict, opts: pulumi.ResourceOptions) -> k8s.core.v1.Service:
        return k8s.core.v1.Service(
            f"{name}-service",
            metadata=metadata,
            spec={
                "type": "ClusterIP",
                "selector": selector_labels(APP_NAME),
                "ports": [{"name": PORT_NAME, "port": SERVICE_PORT, "targetPort": PORT_NAME, "protocol": "TCP"}],
            },
            opts=opts,
        )

    def _availability(
        self, name: str, settings: ServiceConfig, metadata: dict, deployment: k8s.apps.v1.Deployment,
        opts: pulumi.ResourceOptions,
    ) -> None:
        """The disruption budget and the autoscaler that owns the replica count."""
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=metadata,
            spec={
                # one pod may be evicted at a time, and never the last one
                "maxUnavailable": 1 if settings.replicas > 1 else 0,
                "selector": {"matchLabels": selector_labels(APP_NAME)},
            },
            opts=opts,
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
            opts=opts,
        )


def service_container(args: WorkflowServiceArgs, config_map_name: pulumi.Input[str]) -> dict:
    """The service's container: the contract's port and probes, credentials only as Secret references."""
    settings = args.settings
    env = [
        {"name": key, "valueFrom": {"secretKeyRef": {"name": ref.secret_name, "key": ref.key}}}
        for key, ref in sorted(args.secret_env.items())
    ]
    probe = {"httpGet": {"path": HEALTH_PATH, "port": PORT_NAME}, "periodSeconds": 10, "timeoutSeconds": 2}
    return {
        "name": CONTAINER,
        "image": args.image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": PORT_NAME, "containerPort": settings.port, "protocol": "TCP"}],
        "envFrom": [{"configMapRef": {"name": config_map_name}}],
        "env": env,
        "resources": settings.resources.as_kubernetes(),
        "securityContext": restricted_container_security_context(),
        # startup gives a cold start 2 minutes before liveness may restart the pod
        "startupProbe": {**probe, "failureThreshold": 24, "periodSeconds": 5},
        "livenessProbe": {**probe, "failureThreshold": 3},
        "readinessProbe": {
            "httpGet": {"path": READY_PATH, "port": PORT_NAME},
            "periodSeconds": 5,
            "timeoutSeconds": 2,
            "failureThreshold": 2,
        },
        # keep serving while endpoints drop this pod from load balancers, then SIGTERM
        "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
        "volumeMounts": [{"name": "scratch", "mountPath": SCRATCH_MOUNT}],
    }


def spread_constraints(zones: list[str], selector: dict[str, str]) -> list[dict]:
    """Spread over zones (when the stage has them) and nodes, never refusing to schedule."""
    return [
        {
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": selector},
        }
        for key in (["topology.kubernetes.io/zone"] if zones else []) + ["kubernetes.io/hostname"]
    ]
