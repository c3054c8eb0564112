"""Deriving a stage's inventory from its configuration, and discovering its pods with kubectl.

Expectations for the platform's own workloads come from the synthesized pod
templates (user, ports, writable mounts, Secret mounts, Secret-filled
variables). Operator- and chart-managed pods (CloudNativePG, kube-prometheus-
stack, ECK) are not in the synthesis, so their upstream defaults are listed
in `managed_workloads`.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterator

from components.config import LoadedStage
from components.config.types import cron_max_interval_seconds, duration_seconds
from components.data import facts as data
from components.logging import facts as logs
from components.monitoring import facts as monitoring
from wfdeploy.verification.inventory import ConfigFile, Endpoints, HostTarget, Inventory

#: Volume kinds whose files the pod cannot change.
_READ_ONLY_VOLUMES = ("secret", "configMap", "projected", "downwardAPI")


@dataclass(frozen=True)
class Workload:
    """Pods selected by labels in a namespace, and what each container must look like."""

    role: str
    namespace: str
    selector: dict[str, str]
    expectation: HostTarget  # name and backend are filled in per discovered pod
    scheduled: bool = False  # a CronJob's pods: running only while a job runs

    @property
    def selector_arg(self) -> str:
        return ",".join(f"{key}={value}" for key, value in sorted(self.selector.items()))


def _secret_volume(volume: dict[str, Any]) -> bool:
    if "secret" in volume:
        return True
    sources = volume.get("projected", {}).get("sources", [])
    return any("secret" in source for source in sources)


def container_expectation(
    role: str, pod: dict[str, Any], container: dict[str, Any], config_maps: dict[str, dict]
) -> HostTarget:
    """What a container of a synthesized pod template promises."""
    volumes = {volume["name"]: volume for volume in pod.get("volumes", [])}
    context = {**pod.get("securityContext", {}), **container.get("securityContext", {})}
    writable, secret_paths, config_files = [], [], []
    for mount in container.get("volumeMounts", []):
        volume = volumes.get(mount["name"], {})
        path = mount["mountPath"]
        if _secret_volume(volume):
            secret_paths.append(path)
        elif "configMap" in volume:
            source = volume["configMap"]
            keys = [item["path"] for item in source.get("items", [])] or sorted(
                config_maps.get(source.get("name"), {}).get("data", {})
            )
            mode = int(source.get("defaultMode", 0o644))
            files = [mount["subPath"]] if mount.get("subPath") else keys
            target = lambda key: path if mount.get("subPath") else f"{path.rstrip('/')}/{key}"  # noqa: E731
            config_files += [ConfigFile(target(key), 0, mode) for key in files]
        elif not mount.get("readOnly") and not any(kind in volume for kind in _READ_ONLY_VOLUMES):
            writable.append(path)
    secret_env = [
        item["name"] for item in container.get("env", []) if "secretKeyRef" in item.get("valueFrom", {})
    ]
    return HostTarget(
        name=role,
        role=role,
        backend="",
        uid=context.get("runAsUser"),
        ports=tuple(sorted(int(port["containerPort"]) for port in container.get("ports", []))),
        writable_paths=tuple(writable),
        read_only_root=bool(context.get("readOnlyRootFilesystem")),
        config_files=tuple(config_files),
        secret_paths=tuple(secret_paths),
        secret_env=tuple(sorted(secret_env)),
        scan_paths=tuple(writable),
    )


def _pod_template(obj: dict[str, Any]) -> dict[str, Any] | None:
    spec = obj.get("spec", {})
    if obj["kind"] == "CronJob":
        return spec.get("jobTemplate", {}).get("spec", {}).get("template")
    return spec.get("template")


def synthesized_workloads(objects: list[dict[str, Any]]) -> list[Workload]:
    """One workload per container of every Deployment, StatefulSet, DaemonSet and CronJob declared."""
    config_maps = {
        (obj["metadata"].get("namespace"), obj["metadata"]["name"]): obj
        for obj in objects if obj["kind"] == "ConfigMap"
    }
    workloads = []
    for obj in objects:
        if obj["kind"] not in ("Deployment", "StatefulSet", "DaemonSet", "CronJob"):
            continue
        template = _pod_template(obj)
        if not template:
            continue
        namespace = obj["metadata"].get("namespace", "default")
        in_namespace = {name: cm for (ns, name), cm in config_maps.items() if ns == namespace}
        labels = template.get("metadata", {}).get("labels", {})
        selector = obj.get("spec", {}).get("selector", {}).get("matchLabels") or labels
        if obj["kind"] == "CronJob":
            selector = {"batch.kubernetes.io/cronjob-name": obj["metadata"]["name"]} if not labels else labels
        for container in template["spec"].get("containers", []):
            role = f"{obj['metadata']['name']}/{container['name']}"
            expectation = container_expectation(role, template["spec"], container, in_namespace)
            workloads.append(Workload(
                role, namespace, dict(selector), replace(expectation, name=role), scheduled=obj["kind"] == "CronJob"
            ))
    return workloads


def managed_workloads(loaded: LoadedStage, objects: list[dict[str, Any]]) -> list[Workload]:
    """Pods that operators and charts create, with their upstream defaults."""
    config = loaded.config
    ns = config.namespaces
    workloads = []
    for cluster in (obj for obj in objects if obj["kind"] == "Cluster" and "cnpg" in obj.get("apiVersion", "")):
        name = cluster["metadata"]["name"]
        data_dir = "/var/lib/postgresql/data"
        workloads.append(Workload(
            f"{name}/postgres", cluster["metadata"].get("namespace", ns.data),
            {"cnpg.io/cluster": name, "cnpg.io/podRole": "instance"},
            HostTarget(
                name=f"{name}/postgres", role=f"{name}/postgres", backend="", uid=26,
                # PID 1 is the instance manager (status 8000, metrics 9187); the postmaster (5432) is its child
                process=r"/controller/manager|postgres",
                ports=(data.POSTGRES_PORT, data.POSTGRES_STATUS_PORT, data.POSTGRES_METRICS_PORT),
                writable_paths=(data_dir, "/var/lib/postgresql/wal", "/controller", "/run", "/tmp", "/dev/shm"),
                config_files=(ConfigFile(f"{data_dir}/pgdata/postgresql.conf", 26, 0o600),),
                secret_paths=("/controller/certificates", "/etc/secrets"),
                scan_paths=("/controller", "/run", "/tmp"),
            ),
        ))
    # the operator only opens Alertmanager's cluster port (9094) when there are peers to gossip with
    alertmanager_ports = (
        (monitoring.ALERTMANAGER_PORT, monitoring.ALERTMANAGER_MESH_PORT)
        if config.monitoring.alertmanager.replicas > 1
        else (monitoring.ALERTMANAGER_PORT,)
    )
    for role, selector, uid, ports, writable in (
        ("prometheus", {"app.kubernetes.io/name": "prometheus"}, 1000, (monitoring.PROMETHEUS_PORT,), ("/prometheus",)),
        ("alertmanager", {"app.kubernetes.io/name": "alertmanager"}, 1000, alertmanager_ports, ("/alertmanager",)),
    ):
        workloads.append(Workload(role, ns.monitoring, selector, HostTarget(
            name=role, role=role, backend="", uid=uid, process="", ports=ports, writable_paths=writable,
            secret_paths=(f"/etc/{role}/secrets", f"/etc/{role}/config", f"/etc/{role}/web_config",
                          f"/etc/{role}/certs", f"/etc/{role}/config_out"),
            scan_paths=writable,
        )))
    es_home = "/usr/share/elasticsearch"
    es = logs.ANY_ELASTICSEARCH_PODS
    workloads.append(Workload(es.name, ns.logging, es.selector, HostTarget(
        name=es.name, role=es.name, backend="", uid=1000,
        # PID 1 is tini; the launcher and server JVMs hold the ports
        process=r"org\.elasticsearch\.", ports=(logs.ELASTICSEARCH_HTTP_PORT, logs.ELASTICSEARCH_TRANSPORT_PORT),
        writable_paths=(f"{es_home}/data", f"{es_home}/logs", f"{es_home}/config", f"{es_home}/plugins",
                        f"{es_home}/bin", "/tmp"),
        secret_paths=(f"{es_home}/config/http-certs", f"{es_home}/config/transport-certs",
                      f"{es_home}/config/repository-s3", "/mnt/elastic-internal"),
        scan_paths=(f"{es_home}/data", f"{es_home}/logs", "/tmp"),
    )))
    return workloads


Kubectl = Callable[[list[str]], str]


def run_kubectl(args: list[str]) -> str:
    completed = subprocess.run(["kubectl", *args], capture_output=True, text=True, check=False, timeout=60)
    if completed.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)} failed: {completed.stderr.strip()}")
    return completed.stdout


def discover_hosts(
    workloads: list[Workload], context: str, kubectl: Kubectl = run_kubectl
) -> tuple[list[HostTarget], list[str], list[str]]:
    """(a HostTarget per running pod, long-running workloads without one, notes on idle CronJob pods)."""
    hosts, missing, notes = [], [], []
    for workload in workloads:
        listing = json.loads(kubectl(["--context", context, "-n", workload.namespace, "get", "pods",
                                      "-l", workload.selector_arg, "-o", "json"]))
        running = [pod for pod in listing.get("items", []) if pod.get("status", {}).get("phase") == "Running"]
        if not running:
            message = f"{workload.role}: no running pod in {workload.namespace} with {workload.selector_arg}"
            (notes if workload.scheduled else missing).append(message)
        container = workload.role.rsplit("/", 1)[-1]
        for pod in running:
            pod_name = pod["metadata"]["name"]
            backend = f"kubectl://{pod_name}?namespace={workload.namespace}&container={container}&context={context}"
            hosts.append(replace(workload.expectation, name=f"{workload.role}@{pod_name}", backend=backend))
    return hosts, missing, notes


def stage_endpoints(loaded: LoadedStage, forwarded: dict[str, str]) -> Endpoints:
    """Endpoints of a deployed stage: the public edge, and port-forwarded in-cluster services."""
    from components.monitoring.rules import alert_names
    from components.logging.retention import DATA_STREAM

    config = loaded.config
    scheme = "https" if config.edge.tls.enabled else "http"
    drill = config.monitoring.alerts.restore_drill_failed
    return Endpoints(
        edge_url=f"{scheme}://{config.edge.hostname}",
        rate_limit_requests=config.edge.rate_limit.requests,
        rate_limit_unit=config.edge.rate_limit.unit,
        edge_replicas=config.edge.proxy_replicas,
        prometheus_url=forwarded.get("prometheus"),
        expected_alerts=tuple(alert_names(config)),
        alertmanager_url=forwarded.get("alertmanager"),
        alertmanager_peers=config.monitoring.alertmanager.replicas,
        elasticsearch_url=forwarded.get("elasticsearch"),
        elasticsearch_index=DATA_STREAM,
        elasticsearch_filter_value=config.namespaces.workflow,
        backup_namespace=config.namespaces.data,
        backup_max_age_seconds=duration_seconds(config.backup.rpo),
        restore_drill_max_age_seconds=drill.missed_runs
        * cron_max_interval_seconds(config.backup.restore_drill_schedule),
    )


#: In-cluster services the stage checks reach through `kubectl port-forward` (stable operator-made names).
FORWARDED_SERVICES = {
    "prometheus": ("monitoring", f"svc/{monitoring.PROMETHEUS_OPERATED_SERVICE}", monitoring.PROMETHEUS_PORT, "http"),
    "alertmanager": ("monitoring", f"svc/{monitoring.ALERTMANAGER_OPERATED_SERVICE}", monitoring.ALERTMANAGER_PORT, "http"),
    "elasticsearch": ("logging", f"svc/{logs.HTTP_SERVICE}", logs.ELASTICSEARCH_HTTP_PORT, "https"),
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_listening(process: subprocess.Popen, port: int, timeout: float = 15.0) -> None:
    """Until the port-forward accepts connections; a forward that died is left for its check to report."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.2)


@contextlib.contextmanager
def port_forwards(loaded: LoadedStage, context: str) -> Iterator[dict[str, str]]:
    """`kubectl port-forward` to each in-cluster service on 127.0.0.1; stopped on exit."""
    namespaces = {"monitoring": loaded.config.namespaces.monitoring, "logging": loaded.config.namespaces.logging}
    processes, urls = [], {}
    try:
        for name, (ns_key, target, remote_port, scheme) in FORWARDED_SERVICES.items():
            local_port = _free_port()
            processes.append(subprocess.Popen(
                ["kubectl", "--context", context, "-n", namespaces[ns_key], "port-forward", "--address", "127.0.0.1",
                 target, f"{local_port}:{remote_port}"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ))
            urls[name] = f"{scheme}://127.0.0.1:{local_port}"
        for process, url in zip(processes, urls.values()):
            _wait_listening(process, int(url.rsplit(":", 1)[1]))
        yield urls
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


def cluster_inventory(loaded: LoadedStage, forwarded: dict[str, str], kubectl: Kubectl = run_kubectl) -> Inventory:
    """The inventory of a deployed stage: expectations from the config, pods from the cluster."""
    from wfdeploy.render.synth import synthesize

    objects = synthesize(loaded).kubernetes_objects()
    workloads = synthesized_workloads(objects) + managed_workloads(loaded, objects)
    hosts, missing, notes = discover_hosts(workloads, loaded.config.cluster.context, kubectl)
    return Inventory(
        loaded.config.stage, tuple(hosts), stage_endpoints(loaded, forwarded), tuple(missing), tuple(notes)
    )
