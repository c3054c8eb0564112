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

#: Label every object of this platform's monitoring carries and the Prometheus selectors match.
SELECTOR_LABEL = ("app.kubernetes.io/part-of", "workflow-platform")
DASHBOARD_LABEL = ("grafana_dashboard", "1")
