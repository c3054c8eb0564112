"""Hardened per-stage values for the kube-prometheus-stack chart (shared ones: charts/values/kube-prometheus-stack.yaml)."""

from __future__ import annotations

from typing import Any

from components.config.schema import StageConfig
from components.monitoring import facts
from components.monitoring.alertmanager import alertmanager_config

#: Pod Security `restricted` at pod level for Prometheus and Alertmanager (the operator renders their containers).
RESTRICTED_POD = {
    "runAsNonRoot": True,
    "runAsUser": 65534,
    "runAsGroup": 65534,
    "fsGroup": 65534,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def _volume_claim(size: str, storage_class: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    if storage_class:
        spec["storageClassName"] = storage_class
    return {"volumeClaimTemplate": {"spec": spec}}


def platform_selector() -> dict[str, Any]:
    key, value = facts.SELECTOR_LABEL
    return {"matchLabels": {key: value}}


def namespace_selector(namespaces: list[str]) -> dict[str, Any]:
    return {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": sorted(set(namespaces))}]}


def chart_values(config: StageConfig) -> dict[str, Any]:
    """Values that differ per stage or derive from the stage configuration."""
    monitoring = config.monitoring
    prometheus, alertmanager, grafana = monitoring.prometheus, monitoring.alertmanager, monitoring.grafana
    node_exporter = monitoring.node_exporter
    # monitors and rules of this platform live in the monitoring namespace; the chart's own too,
    # and node-exporter's ServiceMonitor sits beside it in its namespace
    watched = [config.namespaces.monitoring] + ([node_exporter.namespace] if node_exporter.enabled else [])
    selector = platform_selector()
    key, value = facts.SELECTOR_LABEL
    dashboard_key, dashboard_value = facts.DASHBOARD_LABEL
    return {
        "fullnameOverride": facts.FULLNAME,
        # every chart object carries the platform label, so one selector picks up chart and platform objects alike
        "commonLabels": {key: value},
        "defaultRules": {
            "create": True,
            # the platform owns its heartbeat (rules/workflow-heartbeat.yaml), routed to the heartbeat receiver
            "disabled": {"Watchdog": True},
        },
        "prometheus": {
            "prometheusSpec": {
                "replicas": prometheus.replicas,
                "retention": prometheus.retention,
                "retentionSize": prometheus.retention_size,
                "scrapeInterval": prometheus.scrape_interval,
                "evaluationInterval": prometheus.evaluation_interval,
                "externalLabels": {"stage": config.stage},
                "resources": prometheus.resources.as_kubernetes(),
                "storageSpec": _volume_claim(prometheus.storage_size, prometheus.storage_class),
                # the operator itself gives its containers a read-only root and drops every capability
                "securityContext": RESTRICTED_POD,
                "ruleSelectorNilUsesHelmValues": False,
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
                "probeSelectorNilUsesHelmValues": False,
                "ruleSelector": selector,
                "serviceMonitorSelector": selector,
                "podMonitorSelector": selector,
                "probeSelector": selector,
                "ruleNamespaceSelector": namespace_selector(watched),
                "serviceMonitorNamespaceSelector": namespace_selector(watched),
                "podMonitorNamespaceSelector": namespace_selector(watched),
                "probeNamespaceSelector": namespace_selector(watched),
            },
        },
        "alertmanager": {
            "config": alertmanager_config(config),
            "alertmanagerSpec": {
                "replicas": alertmanager.replicas,
                "retention": alertmanager.retention,
                "resources": alertmanager.resources.as_kubernetes(),
                "storage": _volume_claim(alertmanager.storage_size, prometheus.storage_class),
                # receiver credentials, mounted at /etc/alertmanager/secrets/<secret>/<key>
                "secrets": [facts.RECEIVER_SECRET_NAME] if alertmanager.secret_keys() else [],
                "securityContext": RESTRICTED_POD,
            },
        },
        "grafana": {
            "fullnameOverride": facts.GRAFANA_NAME,
            "resources": grafana.resources.as_kubernetes(),
            "persistence": {"enabled": True, "size": grafana.storage_size},
            # the chart's init container chowns the volume as root with CHOWN, which Pod Security `restricted`
            # refuses; fsGroup 472 (charts/values) already makes the volume writable for Grafana
            "initChownData": {"enabled": False},
            # commonLabels stop at the subchart: its ServiceMonitor needs the selector label itself
            "serviceMonitor": {"labels": {key: value}},
            "admin": {"existingSecret": facts.GRAFANA_ADMIN_SECRET, "userKey": "admin-user", "passwordKey": "admin-password"},
            "grafana.ini": {
                "auth.anonymous": {"enabled": False},
                "auth": {"disable_login_form": False},
                "security": {"cookie_secure": True, "disable_gravatar": True, "allow_embedding": False},
                "users": {"allow_sign_up": False},
                "analytics": {"reporting_enabled": False, "check_for_updates": False},
            },
            "sidecar": {
                "dashboards": {
                    "enabled": True,
                    "label": dashboard_key,
                    "labelValue": dashboard_value,
                    "searchNamespace": config.namespaces.monitoring,
                }
            },
        },
        "prometheusOperator": {
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
        },
        "nodeExporter": {"enabled": node_exporter.enabled},
        # commonLabels do not reach the subcharts: each subchart's ServiceMonitor gets the selector label itself
        "prometheus-node-exporter": {
            "namespaceOverride": node_exporter.namespace,
            "prometheus": {"monitor": {"additionalLabels": {key: value}}},
        },
        "kube-state-metrics": {"prometheus": {"monitor": {"additionalLabels": {key: value}}}},
    }
