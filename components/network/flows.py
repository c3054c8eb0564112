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

from components.config.schema import StageConfig
from components.logging.component import snapshot_store_for
from components.network.chart_pods import chart_pods

# Ports the platform's own workloads listen on (the containers', not their Services').
POSTGRES_PORT = 5432
CNPG_STATUS_PORT = 8000
CNPG_METRICS_PORT = 9187
PGBOUNCER_METRICS_PORT = 9127
REDIS_PORT = 6379
REDIS_METRICS_PORT = 9121
ENVOY_HTTP_PORT = 10080  # Envoy Gateway shifts listener ports below 1024 up by 10000
ENVOY_HTTPS_PORT = 10443
ENVOY_METRICS_PORT = 19001
ENVOY_GATEWAY_XDS_PORT = 18000
WEBHOOK_PORT = 9443
CERT_MANAGER_METRICS_PORT = 9402
CERT_MANAGER_WEBHOOK_PORT = 10250
ACME_SOLVER_PORT = 8089
ELASTICSEARCH_HTTP_PORT = 9200
ELASTICSEARCH_TRANSPORT_PORT = 9300
KIBANA_PORT = 5601
PROMETHEUS_PORT = 9090
CONFIG_RELOADER_PORT = 8080
ALERTMANAGER_PORT = 9093
ALERTMANAGER_MESH_PORT = 9094
GRAFANA_PORT = 3000
PROMETHEUS_OPERATOR_PORT = 10250
KUBE_STATE_METRICS_PORT = 8080
NODE_EXPORTER_PORT = 9100
KUBELET_PORT = 10250
COREDNS_METRICS_PORT = 9153
BACKUP_STORE_PORT = 7070
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
    workflow_service = workload(
        "workflow-service", ns.workflow, {"app.kubernetes.io/name": "workflow-service", "app.kubernetes.io/part-of": "workflow-platform"}
    )

    # data tier: CloudNativePG instances and PgBouncer pooler, Redis
    postgres = workload("workflow-db", ns.data, {"cnpg.io/cluster": "workflow-db", "cnpg.io/podRole": "instance"}, "Cluster/workflow-db")
    pooler = workload("workflow-db-pooler-rw", ns.data, {"cnpg.io/poolerName": "workflow-db-pooler-rw"}, "Pooler/workflow-db-pooler-rw")
    redis = workload("workflow-cache", ns.data, {"app.kubernetes.io/name": "workflow-cache", "app.kubernetes.io/part-of": "workflow-platform"})
    cnpg_operator = chart_workload("cloudnative-pg", config.data.operator_namespace, "cloudnative-pg", "operator")

    # edge: Envoy proxies run in the controller's namespace
    envoy = workload(
        "envoy-proxy",
        config.edge.controller_namespace,
        {"gateway.envoyproxy.io/owning-gateway-name": "workflow-gateway", "gateway.envoyproxy.io/owning-gateway-namespace": ns.edge},
        "Gateway/workflow-gateway",
    )
    envoy_gateway = chart_workload("envoy-gateway", config.edge.controller_namespace, "envoy-gateway", "controller")
    envoy_gateway_certgen = chart_workload("envoy-gateway-certgen", config.edge.controller_namespace, "envoy-gateway", "certgen")

    # logging: ECK operator, Elasticsearch, Kibana, setup job, Filebeat
    elasticsearch = workload(
        "elasticsearch", ns.logging, {"elasticsearch.k8s.elastic.co/cluster-name": "elasticsearch"}, "Elasticsearch/elasticsearch"
    )
    kibana = workload("kibana", ns.logging, {"kibana.k8s.elastic.co/name": "kibana"}, "Kibana/kibana")
    eck_operator = chart_workload("elastic-operator", ns.logging, "eck-operator", "operator")
    logging_setup = workload("logging-setup", ns.logging, {"app.kubernetes.io/name": "logging-setup"})
    shipper = workload(
        "filebeat", config.logging.shipper.namespace, {"beat.k8s.elastic.co/name": "filebeat"}, "Beat/filebeat"
    )

    flows = [
        Flow(every_pod(namespace), dns, (net.dns.port,), "name resolution", protocols=("UDP", "TCP"))
        for namespace in platform_namespaces(config)
    ]
    flows += [
        # -- the request path
        Flow(clients, envoy, (ENVOY_HTTP_PORT, ENVOY_HTTPS_PORT), "public HTTP(S) to the edge gateway"),
        Flow(envoy, workflow_service, (config.service.port,), "edge routes requests to the workflow service"),
        Flow(envoy, envoy_gateway, (ENVOY_GATEWAY_XDS_PORT,), "proxies fetch their configuration (xDS)"),
        Flow(workflow_service, pooler, (POSTGRES_PORT,), "workflow service queries PostgreSQL through PgBouncer"),
        Flow(workflow_service, redis, (REDIS_PORT,), "workflow service caches in Redis"),
        # -- the data tier among itself
        Flow(pooler, postgres, (POSTGRES_PORT,), "PgBouncer connects to the primary"),
        Flow(postgres, postgres, (POSTGRES_PORT,), "streaming replication between instances"),
        Flow(redis, redis, (REDIS_PORT,), "replicas follow the Redis primary"),
        # -- logging
        Flow(shipper, elasticsearch, (ELASTICSEARCH_HTTP_PORT,), "log shipper writes to Elasticsearch"),
        Flow(kibana, elasticsearch, (ELASTICSEARCH_HTTP_PORT,), "Kibana reads Elasticsearch"),
        Flow(logging_setup, elasticsearch, (ELASTICSEARCH_HTTP_PORT,), "setup job installs templates, ILM and SLM"),
        Flow(eck_operator, elasticsearch, (ELASTICSEARCH_HTTP_PORT,), "ECK manages the cluster through its API"),
        Flow(elasticsearch, elasticsearch, (ELASTICSEARCH_TRANSPORT_PORT,), "Elasticsearch nodes form one cluster"),
        *(
            [
                Flow(elasticsearch, object_store, (net.object_store_port,), "Elasticsearch snapshots to S3"),
                *([Flow(elasticsearch, aws_api, (HTTPS_PORT,), "snapshot role credentials from STS")] if aws_api.cidrs else []),
            ]
            if snapshot_store_for(config) is not None and config.logging.snapshots.enabled
            else []
        ),
        # -- operators and controllers watch and write the Kubernetes API
        *(
            Flow(operator, api, api_ports, "operators and controllers use the Kubernetes API")
            for operator in (cnpg_operator, postgres, pooler, envoy_gateway, envoy_gateway_certgen, eck_operator, shipper)
        ),
        Flow(cnpg_operator, postgres, (CNPG_STATUS_PORT,), "the CNPG operator polls each instance's status"),
        Flow(cnpg_operator, pooler, (CNPG_STATUS_PORT,), "the CNPG operator polls the pooler's status"),
        *(
            Flow(api, webhook, (WEBHOOK_PORT,), "the API server calls admission webhooks")
            for webhook in (cnpg_operator, eck_operator, envoy_gateway)
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
            (postgres, (CNPG_METRICS_PORT,)),
            (pooler, (PGBOUNCER_METRICS_PORT,)),
            (redis, (REDIS_METRICS_PORT,)),
            (envoy, (ENVOY_METRICS_PORT,)),
            # no flows to the Envoy Gateway controller's or the CNPG operator's metrics ports: no monitor scrapes them
            (dns, (COREDNS_METRICS_PORT,)),
        ],
    )
    flows += _tls_flows(config, api=api, internet=internet, api_ports=api_ports, envoy=envoy)
    return flows


def _backup_flows(config: StageConfig, *, postgres, object_store, aws_api) -> list[Flow]:
    """The backup and restore-drill jobs read the database and write the object store."""
    ns = config.namespaces.data
    jobs = [
        workload(name, ns, {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "workflow-platform"})
        for name in ("workflow-db-backup", "workflow-db-restore-drill")
    ]
    flows = [Flow(job, postgres, (config.backup.database.port,), "dump and restore-drill the database") for job in jobs]
    if config.backup.store == "in-cluster":
        store = workload("workflow-backup-store", ns, {"app.kubernetes.io/name": "workflow-backup-store", "app.kubernetes.io/part-of": "workflow-platform"})
        flows += [Flow(job, store, (BACKUP_STORE_PORT,), "backups to the in-cluster S3-compatible store") for job in jobs]
    else:
        flows += [Flow(job, object_store, (config.network.object_store_port,), "backups to S3") for job in jobs]
        if aws_api.cidrs:
            flows += [Flow(job, aws_api, (HTTPS_PORT,), "backup role credentials from STS") for job in jobs]
    return flows


def _monitoring_flows(config: StageConfig, *, api, nodes, internet, api_ports, targets) -> list[Flow]:
    """Prometheus scrapes every metrics port; Grafana reads Prometheus; Alertmanager notifies."""
    ns = config.namespaces.monitoring
    chart = "kube-prometheus-stack"
    prometheus = chart_workload("prometheus", ns, chart, "prometheus")
    alertmanager = chart_workload("alertmanager", ns, chart, "alertmanager")
    grafana = chart_workload("grafana", ns, chart, "grafana")
    operator = chart_workload("prometheus-operator", ns, chart, "operator")
    kube_state_metrics = chart_workload("kube-state-metrics", ns, chart, "kube-state-metrics")
    # Helm hooks that create and patch the operator's webhook certificate
    admission_jobs = [chart_workload(f"admission-{step}", ns, chart, f"admission-{step}") for step in ("create", "patch")]
    flows = [
        *(Flow(prometheus, target, ports, "Prometheus scrapes metrics") for target, ports in targets),
        Flow(prometheus, kube_state_metrics, (KUBE_STATE_METRICS_PORT,), "Prometheus scrapes metrics"),
        Flow(prometheus, prometheus, (PROMETHEUS_PORT, CONFIG_RELOADER_PORT), "Prometheus replicas scrape each other"),
        Flow(prometheus, alertmanager, (ALERTMANAGER_PORT, CONFIG_RELOADER_PORT), "Prometheus sends alerts; scrapes Alertmanager"),
        Flow(prometheus, grafana, (GRAFANA_PORT,), "Prometheus scrapes metrics"),
        Flow(prometheus, operator, (PROMETHEUS_OPERATOR_PORT,), "Prometheus scrapes metrics"),
        Flow(prometheus, nodes, (KUBELET_PORT, NODE_EXPORTER_PORT), "kubelet/cAdvisor and node-exporter metrics"),
        Flow(prometheus, api, api_ports, "service discovery and API server metrics"),
        Flow(grafana, prometheus, (PROMETHEUS_PORT,), "dashboards query Prometheus"),
        # the chart provisions an Alertmanager datasource beside Prometheus (grafana.sidecar.datasources.alertmanager)
        Flow(grafana, alertmanager, (ALERTMANAGER_PORT,), "Grafana's Alertmanager datasource reads alerts and silences"),
        # memberlist gossips over UDP and syncs state over TCP on the same port
        Flow(alertmanager, alertmanager, (ALERTMANAGER_MESH_PORT,), "Alertmanager replicas gossip", protocols=("TCP", "UDP")),
        Flow(alertmanager, internet, (HTTPS_PORT,), "notifications to the pager and chat webhooks"),
        Flow(api, operator, (PROMETHEUS_OPERATOR_PORT,), "the API server calls the operator's admission webhook"),
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
    chart = "cert-manager"
    controller = chart_workload("cert-manager", ns, chart, "controller")
    webhook = chart_workload("cert-manager-webhook", ns, chart, "webhook")
    cainjector = chart_workload("cert-manager-cainjector", ns, chart, "cainjector")
    startup_check = chart_workload("cert-manager-startupapicheck", ns, chart, "startupapicheck")
    solver = workload(
        "acme-http-solver", config.namespaces.edge, {"acme.cert-manager.io/http01-solver": "true"}, "Certificate/workflow-edge-tls"
    )
    return [
        *(
            Flow(peer, api, api_ports, "cert-manager uses the Kubernetes API")
            for peer in (controller, webhook, cainjector, startup_check)
        ),
        Flow(api, webhook, (CERT_MANAGER_WEBHOOK_PORT,), "the API server calls cert-manager's admission webhook"),
        Flow(controller, internet, (HTTPS_PORT, HTTP_PORT), "ACME orders and the HTTP-01 self-check"),
        Flow(envoy, solver, (ACME_SOLVER_PORT,), "the ACME HTTP-01 challenge reaches the solver through the edge"),
    ]
