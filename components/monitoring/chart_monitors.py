"""The ServiceMonitors kube-prometheus-stack and its subcharts render, with the labels they really get.

Helm renders them outside this program, so this models each from the
release's values as the template at the pinned version does (cited beside
it); only labels the selectors could match are modelled. The
`monitor-selection` gate holds the Prometheus selectors to these monitors.
Re-read the cited templates whenever the chart version changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.monitoring import facts

KPS = "prometheus-community/helm-charts charts/kube-prometheus-stack"


@dataclass(frozen=True)
class ChartMonitor:
    """One monitor a chart renders and why the platform needs it scraped."""

    kind: str
    name: str
    namespace: str
    labels: dict[str, str]
    template: str
    needed_for: str


def _get(values: dict[str, Any], path: str, default: Any = None) -> Any:
    node: Any = values
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def chart_monitors(values: dict[str, Any], release_namespace: str) -> list[ChartMonitor]:
    """The monitors the alerts and dashboards rely on, from the release's merged values."""
    # kube-prometheus-stack.labels (templates/_helpers.tpl): its own name as part-of, then commonLabels
    # (the `release` label the charts add depends on the Helm release name and no selector here uses it)
    own_labels = {"app.kubernetes.io/part-of": "kube-prometheus-stack", **(values.get("commonLabels") or {})}
    own = f"{KPS}/templates/_helpers.tpl@83.4.2 (kube-prometheus-stack.labels)"
    monitors = [
        ChartMonitor("ServiceMonitor", f"{facts.FULLNAME}-kubelet", release_namespace, own_labels,
                     f"{KPS}/templates/exporters/kubelet/servicemonitor.yaml@83.4.2; {own}",
                     "cAdvisor CPU series (WorkflowCPUHigh, dashboards)"),
        ChartMonitor("ServiceMonitor", f"{facts.FULLNAME}-operator", release_namespace, own_labels,
                     f"{KPS}/templates/prometheus-operator/servicemonitor.yaml@83.4.2; {own}",
                     "the operator's own health"),
        ChartMonitor("ServiceMonitor", f"{facts.FULLNAME}-prometheus", release_namespace, own_labels,
                     f"{KPS}/templates/prometheus/servicemonitor.yaml@83.4.2; {own}", "Prometheus' own health"),
        ChartMonitor("ServiceMonitor", f"{facts.FULLNAME}-alertmanager", release_namespace, own_labels,
                     f"{KPS}/templates/alertmanager/servicemonitor.yaml@83.4.2; {own}", "Alertmanager's own health"),
    ]
    ksm = values.get("kube-state-metrics") or {}
    if values.get("kubeStateMetrics", {}).get("enabled", True) and _get(ksm, "prometheus.monitor.enabled", True):
        # kube-state-metrics.labels, then prometheus.monitor.additionalLabels; commonLabels never reach it
        monitors.append(ChartMonitor(
            "ServiceMonitor", "kube-state-metrics", ksm.get("namespaceOverride") or release_namespace,
            {"app.kubernetes.io/name": "kube-state-metrics", "app.kubernetes.io/part-of": "kube-state-metrics",
             **(_get(ksm, "prometheus.monitor.additionalLabels") or {})},
            "prometheus-community/helm-charts charts/kube-state-metrics/templates/servicemonitor.yaml@kube-state-metrics-7.2.2",
            "kube_cronjob_* / kube_job_* (BackupStale, RestoreDrillFailed) and kube_pod_container_resource_* (WorkflowCPUHigh)",
        ))
    exporter = values.get("prometheus-node-exporter") or {}
    if values.get("nodeExporter", {}).get("enabled", True) and _get(exporter, "prometheus.monitor.enabled", True):
        monitors.append(ChartMonitor(
            "ServiceMonitor", "prometheus-node-exporter", exporter.get("namespaceOverride") or release_namespace,
            {"app.kubernetes.io/name": "prometheus-node-exporter", "app.kubernetes.io/part-of": "prometheus-node-exporter",
             **(_get(exporter, "prometheus.monitor.additionalLabels") or {})},
            "prometheus-community/helm-charts charts/prometheus-node-exporter/templates/servicemonitor.yaml"
            "@prometheus-node-exporter-4.53.1",
            "node dashboards",
        ))
    grafana = values.get("grafana") or {}
    if grafana.get("enabled", True) and _get(grafana, "serviceMonitor.enabled", True):
        monitors.append(ChartMonitor(
            "ServiceMonitor", facts.GRAFANA_NAME, _get(grafana, "serviceMonitor.namespace") or release_namespace,
            {"app.kubernetes.io/name": "grafana", **(_get(grafana, "serviceMonitor.labels") or {})},
            "grafana/helm-charts charts/grafana/templates/servicemonitor.yaml@grafana-11.6.1 (grafana.labels + serviceMonitor.labels)",
            "Grafana's own health",
        ))
    return monitors
