"""Facts of the data tier that other concerns read: names, ports, pods and scrape targets of PostgreSQL and Redis.

Pure (standard library and `components.facts` only): the workflow service
connects, the backup jobs dump, the flows table opens ports and the monitors
scrape from these objects.
"""

from __future__ import annotations

from components.facts import Pods, ScrapeTarget, as_labels, own_pods

OPERATOR_RELEASE = "cloudnative-pg"
#: The CloudNativePG operator's admission webhook port.
OPERATOR_WEBHOOK_PORT = 9443

# -- PostgreSQL: a CloudNativePG Cluster behind a PgBouncer Pooler ------------------------------------------
CLUSTER_NAME = "workflow-db"
POOLER_NAME = f"{CLUSTER_NAME}-pooler-rw"
APP_SECRET = f"{CLUSTER_NAME}-app"
DATABASE = "workflow"
APP_USER = "workflow"
POSTGRES_PORT = 5432
#: The instance manager's status port, polled by the operator.
POSTGRES_STATUS_PORT = 8000
#: Ports of CloudNativePG's built-in exporters (instances and PgBouncer).
POSTGRES_METRICS_PORT = 9187
POOLER_METRICS_PORT = 9127
#: The named port of the exporters' Services and pods.
METRICS_PORT_NAME = "metrics"

POSTGRES_PODS = Pods(
    CLUSTER_NAME, as_labels({"cnpg.io/cluster": CLUSTER_NAME, "cnpg.io/podRole": "instance"}), f"Cluster/{CLUSTER_NAME}"
)
POOLER_PODS = Pods(POOLER_NAME, as_labels({"cnpg.io/poolerName": POOLER_NAME}), f"Pooler/{POOLER_NAME}")
POSTGRES_SCRAPE_TARGET = ScrapeTarget(
    name=CLUSTER_NAME,
    kind="PodMonitor",
    monitor_resource="postgres-pod-monitor",
    match_labels=as_labels({"cnpg.io/cluster": CLUSTER_NAME}),
    port=METRICS_PORT_NAME,
    port_number=POSTGRES_METRICS_PORT,
)

# -- Redis: a StatefulSet, pod 0 the primary ----------------------------------------------------------------
CACHE_NAME = "workflow-cache"
HEADLESS_NAME = f"{CACHE_NAME}-headless"
AUTH_SECRET = f"{CACHE_NAME}-auth"
REDIS_PORT = 6379
REDIS_METRICS_PORT = 9121

CACHE_PODS = own_pods(CACHE_NAME)
CACHE_SCRAPE_TARGET = ScrapeTarget(
    name=CACHE_NAME,
    kind="PodMonitor",
    monitor_resource="cache-pod-monitor",
    match_labels=as_labels({"app.kubernetes.io/name": CACHE_NAME}),
    port=METRICS_PORT_NAME,
    port_number=REDIS_METRICS_PORT,
)
