"""Facts of the monitoring concern: the names the chart gives its objects, their labels and ports.

Pure (standard library only): values, runbooks, the flows table, verification and the tests read these.
"""

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

#: Ports the chart's pods listen on (the containers', not their Services').
PROMETHEUS_PORT = 9090
CONFIG_RELOADER_PORT = 8080
ALERTMANAGER_PORT = 9093
ALERTMANAGER_MESH_PORT = 9094
GRAFANA_PORT = 3000
OPERATOR_PORT = 10250
KUBE_STATE_METRICS_PORT = 8080
NODE_EXPORTER_PORT = 9100
#: The Services the operator makes for every Prometheus and Alertmanager (stable names, whatever the release).
PROMETHEUS_OPERATED_SERVICE = "prometheus-operated"
ALERTMANAGER_OPERATED_SERVICE = "alertmanager-operated"
