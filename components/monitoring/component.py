"""Monitoring: kube-prometheus-stack, scrape monitors, the platform's rules and dashboards.

Rule files (rules.py), the Alertmanager config (alertmanager.py) and the
dashboards (dashboards.py) are pure functions of the stage configuration:
`render` writes them as files for promtool/amtool, and this component wraps
the same data into PrometheusRule objects, chart values and ConfigMaps. The
monitors scrape other concerns' pods from those concerns' own scrape-target
facts (`components/<concern>/facts.py`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.charts import install_chart
from components.config.monitoring import MonitoringConfig
from components.config.secrets import StageSecrets
from components.facts import ScrapeTarget
from components.kube import child, restricted_namespace, standard_labels
from components.monitoring import facts


@dataclass(frozen=True)
class MonitoredTarget:
    """Another concern's scrape target, in the namespace its pods run in."""

    target: ScrapeTarget
    namespace: str


@dataclass(frozen=True)
class MonitoringStackArgs:
    namespace: str
    settings: MonitoringConfig
    #: operator-supplied receiver credentials; only the keys the receivers name are read, as secret Outputs
    secrets: StageSecrets
    #: the chart's stage values, the rule files and the dashboards, as `render` writes them
    chart_values: dict[str, Any]
    rule_files: dict[str, dict[str, Any]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    targets: tuple[MonitoredTarget, ...] = ()
    #: the chart release is left out (substitutions.chartReleases: crds-only)
    crds_only: bool = False


def _labels(name: str) -> dict[str, str]:
    return standard_labels(name, "monitoring")


def monitor_spec(target: ScrapeTarget, namespace: str, interval: str) -> dict[str, Any]:
    """The ServiceMonitor's or PodMonitor's spec that scrapes one target every `interval`."""
    endpoint: dict[str, Any] = {"port": target.port}
    if target.path:
        endpoint["path"] = target.path
    endpoint["interval"] = interval
    if target.honor_labels:
        endpoint["honorLabels"] = True
    endpoints_key = "endpoints" if target.kind == "ServiceMonitor" else "podMetricsEndpoints"
    return {
        "namespaceSelector": {"matchNames": [namespace]},
        "selector": {"matchLabels": dict(target.match_labels)},
        endpoints_key: [endpoint],
    }


class MonitoringStack(pulumi.ComponentResource):
    """Prometheus, Alertmanager and Grafana with this platform's monitors, rules and dashboards."""

    namespace: pulumi.Output[str]
    #: the Namespaces it creates (the network policies land in them)
    owned_namespaces: list[k8s.core.v1.Namespace]

    def __init__(self, name: str, args: MonitoringStackArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("wf:monitoring:MonitoringStack", name, None, opts)
        namespace = restricted_namespace(f"{name}-namespace", args.namespace, "monitoring", child(self))
        prerequisites = [namespace, *self._prerequisites(name, args, child(self, depends_on=[namespace]))]
        chart = install_chart(
            f"{name}-stack",
            facts.RELEASE,
            args.namespace,
            args.chart_values,
            child(self, depends_on=prerequisites),
            crds_only=args.crds_only,
        )
        # monitors and rules need the chart's CRDs
        self._monitors_and_rules(name, args, child(self, depends_on=[chart]))
        self._dashboards(name, args, child(self, depends_on=[namespace]))

        # node-exporter's namespace is one of the chart's prerequisites
        self.owned_namespaces = [item for item in prerequisites if isinstance(item, k8s.core.v1.Namespace)]
        self.namespace = namespace.metadata["name"]
        self.register_outputs({"namespace": self.namespace})

    def _metadata(self, args: MonitoringStackArgs, object_name: str, extra: dict[str, str] | None = None) -> dict:
        """Every monitor, rule and dashboard carries the label Prometheus's (and Grafana's) selectors match."""
        platform_key, platform_value = facts.SELECTOR_LABEL
        return {
            "name": object_name,
            "namespace": args.namespace,
            "labels": {**_labels(object_name), platform_key: platform_value, **(extra or {})},
        }

    def _prerequisites(self, name: str, args: MonitoringStackArgs, in_namespace: pulumi.ResourceOptions) -> list[pulumi.Resource]:
        """What the chart needs first: node-exporter's namespace, the receivers' and Grafana's admin Secrets."""
        settings = args.settings
        prerequisites: list[pulumi.Resource] = []
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
                    metadata={"name": facts.RECEIVER_SECRET_NAME, "namespace": args.namespace, "labels": _labels(facts.RECEIVER_SECRET_NAME)},
                    type="Opaque",
                    string_data={key: pulumi.Output.secret(args.secrets.get(key)) for key in key_names},
                    opts=in_namespace,
                )
            )

        admin_password = random.RandomPassword(f"{name}-grafana-admin-password", length=32, special=False, opts=child(self))
        prerequisites.append(
            k8s.core.v1.Secret(
                f"{name}-grafana-admin",
                metadata={"name": facts.GRAFANA_ADMIN_SECRET, "namespace": args.namespace, "labels": _labels(facts.GRAFANA_ADMIN_SECRET)},
                type="Opaque",
                string_data={"admin-user": settings.grafana.admin_user, "admin-password": admin_password.result},
                opts=in_namespace,
            )
        )
        return prerequisites

    def _monitors_and_rules(self, name: str, args: MonitoringStackArgs, after_chart: pulumi.ResourceOptions) -> None:
        """A monitor per scrape target of the other concerns, then a PrometheusRule per rule file."""
        for monitored in args.targets:
            target = monitored.target
            k8s.apiextensions.CustomResource(
                f"{name}-{target.monitor_resource}",
                api_version="monitoring.coreos.com/v1",
                kind=target.kind,
                metadata=self._metadata(args, target.name),
                spec=monitor_spec(target, monitored.namespace, args.settings.prometheus.scrape_interval),
                opts=after_chart,
            )
        for file_name, document in args.rule_files.items():
            k8s.apiextensions.CustomResource(
                f"{name}-rules-{file_name}",
                api_version="monitoring.coreos.com/v1",
                kind="PrometheusRule",
                metadata=self._metadata(args, file_name),
                spec=document,
                opts=after_chart,
            )

    def _dashboards(self, name: str, args: MonitoringStackArgs, in_namespace: pulumi.ResourceOptions) -> None:
        """A ConfigMap per dashboard, found by Grafana's sidecar through its label."""
        dashboard_key, dashboard_value = facts.DASHBOARD_LABEL
        for board_name, board in args.dashboards.items():
            k8s.core.v1.ConfigMap(
                f"{name}-dashboard-{board_name}",
                metadata=self._metadata(args, f"dashboard-{board_name}", {dashboard_key: dashboard_value}),
                data={f"{board_name}.json": json.dumps(board, indent=2, sort_keys=True)},
                opts=in_namespace,
            )
