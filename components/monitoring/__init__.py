"""Monitoring: kube-prometheus-stack, scrape monitors, the platform's rules and dashboards.

Rule files (rules.py), the Alertmanager config (alertmanager.py) and the
dashboards (dashboards.py) are pure functions of the stage configuration:
`render` writes them as files for promtool/amtool, and this component wraps
the same data into PrometheusRule objects, chart values and ConfigMaps.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.charts import install_chart
from components.config.schema import StageConfig
from components.config.secrets import StageSecrets
from components.kube import child, restricted_namespace, standard_labels
from components.monitoring import names
from components.monitoring.dashboards import dashboards
from components.monitoring.rules import rule_files
from components.monitoring.values import chart_values

#: Scrape targets by contract (DESIGN.md); the data and workflow components create them.
WORKFLOW_SERVICE = "workflow-service"
CNPG_CLUSTER = "workflow-db"
CACHE_NAME = "workflow-cache"


@dataclass(frozen=True)
class MonitoringStackArgs:
    config: StageConfig
    secrets: StageSecrets


def _labels(name: str) -> dict[str, str]:
    return standard_labels(name, "monitoring")


class MonitoringStack(pulumi.ComponentResource):
    """Prometheus, Alertmanager and Grafana with this platform's monitors, rules and dashboards."""

    namespace: pulumi.Output[str]

    def __init__(self, name: str, args: MonitoringStackArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("wf:monitoring:MonitoringStack", name, None, opts)
        config = args.config
        settings = config.monitoring
        ns_name = config.namespaces.monitoring
        namespace = restricted_namespace(f"{name}-namespace", ns_name, "monitoring", child(self))
        in_namespace = child(self, depends_on=[namespace])
        prerequisites: list[pulumi.Resource] = [namespace]

        if settings.node_exporter.enabled:
            # node-exporter reads the host (hostPID, hostNetwork, hostPath): only Pod Security `privileged` admits it,
            # so it gets a namespace of its own instead of weakening the monitoring namespace
            node_labels = {
                **standard_labels(settings.node_exporter.namespace, "monitoring"),
                "kubernetes.io/metadata.name": settings.node_exporter.namespace,
                "pod-security.kubernetes.io/enforce": "privileged",
                "pod-security.kubernetes.io/warn": "baseline",
                "pod-security.kubernetes.io/audit": "baseline",
            }
            prerequisites.append(
                k8s.core.v1.Namespace(
                    f"{name}-node-namespace",
                    metadata={"name": settings.node_exporter.namespace, "labels": node_labels},
                    opts=child(self),
                )
            )

        key_names = settings.alertmanager.secret_keys()
        if key_names:
            prerequisites.append(
                k8s.core.v1.Secret(
                    f"{name}-receivers",
                    metadata={"name": names.RECEIVER_SECRET_NAME, "namespace": ns_name, "labels": _labels(names.RECEIVER_SECRET_NAME)},
                    type="Opaque",
                    string_data={key: pulumi.Output.secret(args.secrets.get(key)) for key in key_names},
                    opts=in_namespace,
                )
            )

        admin_password = random.RandomPassword(f"{name}-grafana-admin-password", length=32, special=False, opts=child(self))
        prerequisites.append(
            k8s.core.v1.Secret(
                f"{name}-grafana-admin",
                metadata={"name": names.GRAFANA_ADMIN_SECRET, "namespace": ns_name, "labels": _labels(names.GRAFANA_ADMIN_SECRET)},
                type="Opaque",
                string_data={"admin-user": settings.grafana.admin_user, "admin-password": admin_password.result},
                opts=in_namespace,
            )
        )

        chart = install_chart(
            f"{name}-stack",
            names.RELEASE,
            ns_name,
            chart_values(config),
            child(self, depends_on=prerequisites),
            crds_only=config.substitutions.crds_only,
        )
        # monitors and rules need the chart's CRDs
        after_chart = child(self, depends_on=[chart])
        platform_key, platform_value = names.SELECTOR_LABEL

        def metadata(object_name: str, extra: dict[str, str] | None = None) -> dict:
            return {
                "name": object_name,
                "namespace": ns_name,
                "labels": {**_labels(object_name), platform_key: platform_value, **(extra or {})},
            }

        k8s.apiextensions.CustomResource(
            f"{name}-workflow-service-monitor",
            api_version="monitoring.coreos.com/v1",
            kind="ServiceMonitor",
            metadata=metadata(WORKFLOW_SERVICE),
            spec={
                "namespaceSelector": {"matchNames": [config.namespaces.workflow]},
                "selector": {"matchLabels": {"app.kubernetes.io/name": WORKFLOW_SERVICE}},
                "endpoints": [
                    # the service's own `service` label (metric contract) must win over the target's
                    {"port": "http", "path": "/metrics", "interval": settings.prometheus.scrape_interval, "honorLabels": True}
                ],
            },
            opts=after_chart,
        )
        # the data tier's exporters: CloudNativePG's built-in one and the redis_exporter sidecar
        for resource_suffix, target, match_labels in (
            ("postgres-pod-monitor", CNPG_CLUSTER, {"cnpg.io/cluster": CNPG_CLUSTER}),
            ("cache-pod-monitor", CACHE_NAME, {"app.kubernetes.io/name": CACHE_NAME}),
        ):
            k8s.apiextensions.CustomResource(
                f"{name}-{resource_suffix}",
                api_version="monitoring.coreos.com/v1",
                kind="PodMonitor",
                metadata=metadata(target),
                spec={
                    "namespaceSelector": {"matchNames": [config.namespaces.data]},
                    "selector": {"matchLabels": match_labels},
                    "podMetricsEndpoints": [{"port": "metrics", "interval": settings.prometheus.scrape_interval}],
                },
                opts=after_chart,
            )
        for file_name, document in rule_files(config).items():
            k8s.apiextensions.CustomResource(
                f"{name}-rules-{file_name}",
                api_version="monitoring.coreos.com/v1",
                kind="PrometheusRule",
                metadata=metadata(file_name),
                spec=document,
                opts=after_chart,
            )
        dashboard_key, dashboard_value = names.DASHBOARD_LABEL
        for board_name, board in dashboards(config).items():
            k8s.core.v1.ConfigMap(
                f"{name}-dashboard-{board_name}",
                metadata=metadata(f"dashboard-{board_name}", {dashboard_key: dashboard_value}),
                data={f"{board_name}.json": json.dumps(board, indent=2, sort_keys=True)},
                opts=in_namespace,
            )

        self.namespace = namespace.metadata["name"]
        self.register_outputs({"namespace": self.namespace})
