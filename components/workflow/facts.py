"""Facts of the workflow service that other concerns read: its name, ports, paths and scrape target.

Pure (standard library and `components.facts` only): the edge routes to it,
the flows table opens its port, the monitors and rules scrape and select it,
the load test reads its container, all from these objects.
"""

from __future__ import annotations

from components.facts import ScrapeTarget, as_labels, own_pods

#: The Deployment, Service, container and ConfigMap prefix; a ServiceMonitor names its job after the Service.
APP_NAME = "workflow-service"
COMPONENT = "api"
#: The container's one HTTP port (its number is the stage's `service.port`) and the Service port in front of it.
PORT_NAME = "http"
SERVICE_PORT = 80
#: Paths of the service contract (DESIGN.md).
HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"

PODS = own_pods(APP_NAME)
#: The Prometheus job of the service's series (a ServiceMonitor's job is its Service's name).
SCRAPE_JOB = APP_NAME
CONTAINER = APP_NAME
SCRAPE_TARGET = ScrapeTarget(
    name=APP_NAME,
    kind="ServiceMonitor",
    monitor_resource="workflow-service-monitor",
    match_labels=as_labels({"app.kubernetes.io/name": APP_NAME}),
    port=PORT_NAME,
    port_number=None,  # the stage's service.port
    path=METRICS_PATH,
    honor_labels=True,
)
