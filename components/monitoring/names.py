"""Names the chart gives the monitoring stack's objects, shared by values, runbooks and tests."""

#: The Helm release; `fullnameOverride` makes the chart's object names independent of Pulumi's resource name.
RELEASE = "kube-prometheus-stack"
FULLNAME = "monitoring"
PROMETHEUS_SERVICE = f"{FULLNAME}-prometheus"
ALERTMANAGER_NAME = f"{FULLNAME}-alertmanager"
GRAFANA_NAME = "grafana"

#: Secret with the receivers' credentials; the operator mounts it at /etc/alertmanager/secrets/<name>/.
RECEIVER_SECRET_NAME = "alertmanager-receivers"
RECEIVER_SECRET_DIR = f"/etc/alertmanager/secrets/{RECEIVER_SECRET_NAME}"
GRAFANA_ADMIN_SECRET = "grafana-admin"

#: Label every monitor and rule Prometheus must load carries, and the only one its selectors match. A key of
#: its own: the charts already render `app.kubernetes.io/part-of` (their own name) on their monitors, so that
#: key would appear twice in a monitor's labels and which value wins would depend on the template's order.
SELECTOR_LABEL = ("workflow-platform/monitoring", "true")
DASHBOARD_LABEL = ("grafana_dashboard", "1")
