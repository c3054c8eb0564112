"""The intended network flows of the platform: the one table NetworkPolicies are generated from.

Every connection a platform pod may open or accept is one `Flow` here; the
policies (`components/network/policies.py`) allow exactly these and deny the
rest, and the connectivity gate (`wfdeploy/render/gates/connectivity.py`) proves
with network-config-analyzer that the rendered policies allow exactly this
table. Pods are named by namespace and the labels their workload, chart or
operator gives them; addresses outside the pod network come from the stage's
`network` section.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from components.backup import facts as backup
from components.config.schema import StageConfig
from components.data import facts as data
from components.edge import facts as edge
from components.facts import Pods
from components.logging import facts as logs
from components.monitoring import facts as monitoring
from components.network.chart_pods import chart_pods
from components.workflow import facts as workflow

# Ports of the cluster itself and of the world outside it; the platform's own ports live in each concern's facts.
KUBELET_PORT = 10250
COREDNS_METRICS_PORT = 9153
HTTPS_PORT = 443
HTTP_PORT = 80


@dataclass(frozen=True)
class Workload:
    """Pods selected by namespace and labels (no labels: every pod of the namespace).

    `provided_by` names what creates the pods when this program does not render
    them: 'chart:<chart>', '<Kind>/<name>' of a custom resource, or 'cluster'.
    """

    name: str
    namespace: str
    labels: tuple[tuple[str, str], ...] = ()
    provided_by: str | None = None

    @property
    def selector(self) -> dict[str, str]:
        return dict(self.labels)

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Addresses:
    """A set of addresses outside the pod network (API server, nodes, object store, clients)."""

    name: str
    cidrs: tuple[str, ...]

    def __str__(self) -> str:
        return self.name


Peer = Union[Workload, Addresses]


@dataclass(frozen=True)
class Flow:
    """One allowed connection: `source` opens it to `destination` on these ports."""

    source: Peer
    destination: Peer
    ports: tuple[int, ...]
    purpose: str
    protocols: tuple[str, ...] = field(default=("TCP",))

    @property
    def name(self) -> str:
        ports = ",".join(str(port) for port in self.ports)
        return f"{self.source} -> {self.destination} {'+'.join(self.protocols)}/{ports}"


def workload(name: str, namespace: str, labels: dict[str, str], provided_by: str | None = None) -> Workload:
    return Workload(name, namespace, tuple(sorted(labels.items())), provided_by)


def pods_in(pods: Pods, namespace: str) -> Workload:
    """A concern's pods (its facts module) in the namespace the stage runs them in."""
    return Workload(pods.name, namespace, pods.labels, pods.provided_by)


def chart_workload(name: str, namespace: str, release: str, pods: str) -> Workload:
    """A workload a pinned chart renders, selected by the labels chart_pods.py reads from its template."""
    entry = chart_pods(release, pods)
    return Workload(name, namespace, entry.labels, entry.provided_by)


def every_pod(namespace: str) -> Workload:
    return Workload("every-pod", namespace)


def platform_namespaces(config: StageConfig) -> list[str]:
    """Every namespace the platform creates: each gets a default-deny policy."""
    namespaces = list(config.namespaces.model_dump().values())
    namespaces += [config.data.operator_namespace, config.edge.controller_namespace]
    if config.edge.tls.enabled:
        namespaces.append(config.edge.cert_manager_namespace)
    namespaces.append(config.logging.shipper.namespace)
    if config.monitoring.node_exporter.enabled:
        namespaces.append(config.monitoring.node_exporter.namespace)
    return list(dict.fromkeys(namespaces))


def intended_flows(config: StageConfig) -> list[Flow]:
    """Every flow the platform needs in this stage, and nothing else."""
    ns, net = config.namespaces, config.network
    api = Addresses("kubernetes-api", tuple(net.kubernetes_api_cidrs))
    nodes = Addresses("nodes", tuple(net.node_cidrs))
    clients = Addresses("clients", tuple(net.client_cidrs))
    object_store = Addresses("object-store", tuple(net.object_store_cidrs))
    internet = Addresses("internet", ("0.0.0.0/0",))
    aws_api = Addresses("aws-api", tuple(net.aws_api_cidrs))
    api_ports = tuple(net.kubernetes_api_ports)

    dns = workload("kube-dns", net.dns.namespace, net.dns.pod_labels, provided_by="cluster")
    workflow_service = pods_in(workflow.PODS, ns.workflow)

    # data tier: CloudNativePG instances and PgBouncer pooler, Redis
    postgres = pods_in(data.POSTGRES_PODS, ns.data)
    pooler = pods_in(data.POOLER_PODS, ns.data)
    redis = pods_in(data.CACHE_PODS, ns.data)
    cnpg_operator = chart_workload(data.OPERATOR_RELEASE, config.data.operator_namespace, data.OPERATOR_RELEASE, "operator")

    # edge: Envoy proxies run in the controller's namespace
    envoy = pods_in(edge.proxy_pods(ns.edge), config.edge.controller_namespace)
    envoy_gateway = chart_workload(edge.GATEWAY_RELEASE, config.edge.controller_namespace, edge.GATEWAY_RELEASE, "controller")
    envoy_gateway_certgen = chart_workload("envoy-gateway-certgen", config.edge.controller_namespace, edge.GATEWAY_RELEASE, "certgen")

    # logging: ECK operator, Elasticsearch, Kibana, setup job, Filebeat
    elasticsearch = pods_in(logs.ELASTICSEARCH_PODS, ns.logging)
    kibana = pods_in(logs.KIBANA_PODS, ns.logging)
    eck_operator = chart_workload("elastic-operator", ns.logging, logs.CHART_RELEASE, "operator")
    logging_setup = pods_in(logs.SETUP_PODS, ns.logging)
    shipper = pods_in(logs.SHIPPER_PODS, config.logging.shipper.namespace)

    flows = [
        Flow(every_pod(namespace), dns, (net.dns.port,), "name resolution", protocols=("UDP", "TCP"))
        for namespace in platform_namespaces(config)
    ]
    flows += [
        # -- the request path
        Flow(clients, envoy, (edge.ENVOY_HTTP_PORT, edge.ENVOY_HTTPS_PORT), "public HTTP(S) to the edge gateway"),
        Flow(envoy, workflow_service, (config.service.port,), "edge routes requests to the workflow service"),
        Flow(envoy, envoy_gateway, (edge.ENVOY_GATEWAY_XDS_PORT,), "proxies fetch their configuration (xDS)"),
        Flow(workflow_service, pooler, (data.POSTGRES_PORT,), "workflow service queries PostgreSQL through PgBouncer"),
        Flow(workflow_service, redis, (data.REDIS_PORT,), "workflow service caches in Redis"),
        # -- the data tier among itself
        Flow(pooler, postgres, (data.POSTGRES_PORT,), "PgBouncer connects to the primary"),
        Flow(postgres, postgres, (data.POSTGRES_PORT,), "streaming replication between instances"),
        Flow(redis, redis, (data.REDIS_PORT,), "replicas follow the Redis primary"),
        # -- logging
        Flow(shipper, elasticsearch, (logs.ELASTICSEARCH_HTTP_PORT,), "log shipper writes to Elasticsearch"),
        Flow(kibana, elasticsearch, (logs.ELASTICSEARCH_HTTP_PORT,), "Kibana reads Elasticsearch"),
        Flow(logging_setup, elasticsearch, (logs.ELASTICSEARCH_HTTP_PORT,), "setup job installs templates, ILM and SLM"),
        Flow(eck_operator, elasticsearch, (logs.ELASTICSEARCH_HTTP_PORT,), "ECK manages the cluster through its API"),
        Flow(elasticsearch, elasticsearch, (logs.ELASTICSEARCH_TRANSPORT_PORT,), "Elasticsearch nodes form one cluster"),
        *(
            [
                Flow(elasticsearch, object_store, (net.object_store_port,), "Elasticsearch snapshots to S3"),
                *([Flow(elasticsearch, aws_api, (HTTPS_PORT,), "snapshot role credentials from STS")] if aws_api.cidrs else []),
            ]
            if logs.snapshot_store_for(config) is not None and config.logging.snapshots.enabled
            else []
        ),
        # -- operators and controllers watch and write the Kubernetes API
        *(
            Flow(operator, api, api_ports, "operators and controllers use the Kubernetes API")
            for operator in (cnpg_operator, postgres, pooler, envoy_gateway, envoy_gateway_certgen, eck_operator, shipper)
        ),
        Flow(cnpg_operator, postgres, (data.POSTGRES_STATUS_PORT,), "the CNPG operator polls each instance's status"),
        Flow(cnpg_operator, pooler, (data.POSTGRES_STATUS_PORT,), "the CNPG operator polls the pooler's status"),
        *(
            Flow(api, webhook, (port,), "the API server calls admission webhooks")
            for webhook, port in (
                (cnpg_operator, data.OPERATOR_WEBHOOK_PORT),
                (eck_operator, logs.OPERATOR_WEBHOOK_PORT),
                (envoy_gateway, edge.ENVOY_GATEWAY_WEBHOOK_PORT),
            )
        ),
    ]
    flows += _backup_flows(config, postgres=postgres, object_store=object_store, aws_api=aws_api)
    flows += _monitoring_flows(
        config,
        api=api,
        nodes=nodes,
        internet=internet,
        api_ports=api_ports,
        targets=[
            (workflow_service, (config.service.port,)),
            (postgres, (data.POSTGRES_SCRAPE_TARGET.port_number,)),
            (pooler, (data.POOLER_METRICS_PORT,)),
            (redis, (data.CACHE_SCRAPE_TARGET.port_number,)),
            (envoy, (edge.ENVOY_METRICS_PORT,)),
            # no flows to the Envoy Gateway controller's or the CNPG operator's metrics ports: no monitor scrapes them
            (dns, (COREDNS_METRICS_PORT,)),
        ],
    )
    flows += _tls_flows(config, api=api, internet=internet, api_ports=api_ports, envoy=envoy)
    return flows


def _backup_flows(config: StageConfig, *, postgres, object_store, aws_api) -> list[Flow]:
    """The backup and restore-drill jobs read the database and write the object store."""
    ns = config.namespaces.data
    jobs = [pods_in(pods, ns) for pods in backup.JOB_PODS]
    flows = [Flow(job, postgres, (config.backup.database.port,), "dump and restore-drill the database") for job in jobs]
    if config.backup.store == "in-cluster":
        store = pods_in(backup.STORE_PODS, ns)
        flows += [Flow(job, store, (backup.STORE_PORT,), "backups to the in-cluster S3-compatible store") for job in jobs]
    else:
        flows += [Flow(job, object_store, (config.network.object_store_port,), "backups to S3") for job in jobs]
        if aws_api.cidrs:
            flows += [Flow(job, aws_api, (HTTPS_PORT,), "backup role credentials from STS") for job in jobs]
    return flows


def _monitoring_flows(config: StageConfig, *, api, nodes, internet, api_ports, targets) -> list[Flow]:
    """Prometheus scrapes every metrics port; Grafana reads Prometheus; Alertmanager notifies."""
    ns = config.namespaces.monitoring
    chart = monitoring.RELEASE
    prometheus = chart_workload("prometheus", ns, chart, "prometheus")
    alertmanager = chart_workload("alertmanager", ns, chart, "alertmanager")
    grafana = chart_workload("grafana", ns, chart, "grafana")
    operator = chart_workload("prometheus-operator", ns, chart, "operator")
    kube_state_metrics = chart_workload("kube-state-metrics", ns, chart, "kube-state-metrics")
    # Helm hooks that create and patch the operator's webhook certificate
    admission_jobs = [chart_workload(f"admission-{step}", ns, chart, f"admission-{step}") for step in ("create", "patch")]
    flows = [
        *(Flow(prometheus, target, ports, "Prometheus scrapes metrics") for target, ports in targets),
        Flow(prometheus, kube_state_metrics, (monitoring.KUBE_STATE_METRICS_PORT,), "Prometheus scrapes metrics"),
        Flow(prometheus, prometheus, (monitoring.PROMETHEUS_PORT, monitoring.CONFIG_RELOADER_PORT), "Prometheus replicas scrape each other"),
        Flow(prometheus, alertmanager, (monitoring.ALERTMANAGER_PORT, monitoring.CONFIG_RELOADER_PORT), "Prometheus sends alerts; scrapes Alertmanager"),
        Flow(prometheus, grafana, (monitoring.GRAFANA_PORT,), "Prometheus scrapes metrics"),
        Flow(prometheus, operator, (monitoring.OPERATOR_PORT,), "Prometheus scrapes metrics"),
        Flow(prometheus, nodes, (KUBELET_PORT, monitoring.NODE_EXPORTER_PORT), "kubelet/cAdvisor and node-exporter metrics"),
        Flow(prometheus, api, api_ports, "service discovery and API server metrics"),
        Flow(grafana, prometheus, (monitoring.PROMETHEUS_PORT,), "dashboards query Prometheus"),
        # the chart provisions an Alertmanager datasource beside Prometheus (grafana.sidecar.datasources.alertmanager)
        Flow(grafana, alertmanager, (monitoring.ALERTMANAGER_PORT,), "Grafana's Alertmanager datasource reads alerts and silences"),
        # memberlist gossips over UDP and syncs state over TCP on the same port
        Flow(alertmanager, alertmanager, (monitoring.ALERTMANAGER_MESH_PORT,), "Alertmanager replicas gossip", protocols=("TCP", "UDP")),
        Flow(alertmanager, internet, (HTTPS_PORT,), "notifications to the pager and chat webhooks"),
        Flow(api, operator, (monitoring.OPERATOR_PORT,), "the API server calls the operator's admission webhook"),
        *(
            Flow(peer, api, api_ports, "controllers use the Kubernetes API")
            for peer in (operator, kube_state_metrics, grafana, *admission_jobs)
        ),
    ]
    return flows


def _tls_flows(config: StageConfig, *, api, internet, api_ports, envoy) -> list[Flow]:
    """cert-manager obtains the edge certificate from an ACME server with HTTP-01 through the gateway."""
    if not config.edge.tls.enabled:
        return []
    ns = config.edge.cert_manager_namespace
    chart = edge.CERT_MANAGER_RELEASE
    controller = chart_workload("cert-manager", ns, chart, "controller")
    webhook = chart_workload("cert-manager-webhook", ns, chart, "webhook")
    cainjector = chart_workload("cert-manager-cainjector", ns, chart, "cainjector")
    startup_check = chart_workload("cert-manager-startupapicheck", ns, chart, "startupapicheck")
    solver = pods_in(edge.ACME_SOLVER_PODS, config.namespaces.edge)
    return [
        *(
            Flow(peer, api, api_ports, "cert-manager uses the Kubernetes API")
            for peer in (controller, webhook, cainjector, startup_check)
        ),
        Flow(api, webhook, (edge.CERT_MANAGER_WEBHOOK_PORT,), "the API server calls cert-manager's admission webhook"),
        Flow(controller, internet, (HTTPS_PORT, HTTP_PORT), "ACME orders and the HTTP-01 self-check"),
        Flow(envoy, solver, (edge.ACME_SOLVER_PORT,), "the ACME HTTP-01 challenge reaches the solver through the edge"),
    ]
