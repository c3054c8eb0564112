"""`wfdeploy verify` for a stage the local tier runs: the same suite through testinfra's podman:// backend.

Host expectations come from the synthesized pod templates (as on a cluster,
wfdeploy.verification.cluster.synthesized_workloads); each played container is
a `podman://CONTAINER` host. Stage endpoints: the workflow Service's port on
loopback (there is no Envoy edge here), and a loopback Prometheus (the Debian
binary, as in the integration tier) scraping what the stage's ServiceMonitors
and PodMonitors select, with the stage's rendered alerting rules loaded. The
local tier's own stage checks — each CronJob's pod template ran to success,
so the backup left a backup the restore drill restored — are added to the
recorded result.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

import yaml

from components.config import LoadedStage
from wfdeploy.local.tier import TierState, rendered_objects
from wfdeploy.paths import build_dir
from wfdeploy.verification.cluster import synthesized_workloads
from wfdeploy.verification.inventory import Endpoints, HostTarget, Inventory
from wfdeploy.verification.verify import Check, VerifyResult, result_dir, verify, write_result


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def _played(state: TierState, objects: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(state entry, rendered workload) of every long-running pod the tier plays."""
    by_id = {f"{o['kind']} {o['metadata'].get('namespace', '-')}/{o['metadata']['name']}": o for o in objects}
    played = []
    for entry in state.pods:
        if entry["run_once"]:
            continue
        if entry.get("source") in by_id:
            played.append((entry, by_id[entry["source"]]))
    return played


def podman_hosts(state: TierState, objects: list[dict[str, Any]]) -> list[HostTarget]:
    """A podman:// host per container of every running pod, with what its pod template promises."""
    workloads = {(w.namespace, w.role): w for w in synthesized_workloads(objects)}
    hosts = []
    for entry, source in _played(state, objects):
        namespace = source["metadata"].get("namespace", "default")
        for container in entry["containers"]:
            container_name = container.removeprefix(f"{entry['name']}-")
            workload = workloads.get((namespace, f"{source['metadata']['name']}/{container_name}"))
            if workload is not None:
                hosts.append(replace(workload.expectation, name=f"{workload.role}@{entry['name']}",
                                     backend=f"podman://{container}"))
    return hosts


def _pod_templates(objects: list[dict[str, Any]], state: TierState) -> list[tuple[str, dict[str, Any]]]:
    """(namespace, pod template) of every played long-running workload."""
    return [(source["metadata"].get("namespace", "default"), source["spec"]["template"])
            for _, source in _played(state, objects)]


def _container_port(template: dict[str, Any], port: Any) -> int | None:
    for container in template["spec"].get("containers", []):
        for declared in container.get("ports", []):
            if declared.get("name") == port or declared.get("containerPort") == port:
                return int(declared["containerPort"])
    return None


def scrape_configs(objects: list[dict[str, Any]], state: TierState) -> tuple[list[dict[str, Any]], list[str]]:
    """Prometheus scrape jobs for what the stage's monitors select among the played pods (+ notes)."""
    templates = _pod_templates(objects, state)
    jobs: dict[str, dict[str, Any]] = {}
    notes: list[str] = []

    def add(job: str, port: int, endpoint: dict[str, Any]) -> None:
        config = jobs.setdefault(job, {
            "job_name": job, "metrics_path": endpoint.get("path", "/metrics"), "honor_labels": True,
            "scrape_interval": "2s", "scrape_timeout": "1s", "static_configs": [{"targets": []}],
        })
        target = f"127.0.0.1:{port}"
        if target not in config["static_configs"][0]["targets"]:
            config["static_configs"][0]["targets"].append(target)

    for monitor in objects:
        kind = monitor["kind"]
        if kind not in ("ServiceMonitor", "PodMonitor") or not monitor.get("apiVersion", "").startswith("monitoring.coreos.com"):
            continue
        spec = monitor["spec"]
        namespaces = spec.get("namespaceSelector", {}).get("matchNames") or [monitor["metadata"].get("namespace")]
        selector = spec.get("selector", {}).get("matchLabels", {})
        found = False
        if kind == "ServiceMonitor":
            for service in objects:
                if service["kind"] != "Service" or service["metadata"].get("namespace") not in namespaces:
                    continue
                if not _matches(selector, service["metadata"].get("labels", {})):
                    continue
                for endpoint in spec.get("endpoints", []):
                    for port in service["spec"].get("ports", []):
                        if port.get("name") != endpoint.get("port"):
                            continue
                        for namespace, template in templates:
                            if namespace == service["metadata"]["namespace"] and _matches(
                                service["spec"].get("selector", {}), template["metadata"].get("labels", {})
                            ):
                                number = _container_port(template, port.get("targetPort", port["port"]))
                                if number:
                                    add(service["metadata"]["name"], number, endpoint)
                                    found = True
        else:
            for endpoint in spec.get("podMetricsEndpoints", []):
                for namespace, template in templates:
                    if namespace in namespaces and _matches(selector, template["metadata"].get("labels", {})):
                        number = _container_port(template, endpoint.get("port"))
                        if number:
                            add(f"{monitor['metadata']['namespace']}/{monitor['metadata']['name']}", number, endpoint)
                            found = True
        if not found:
            notes.append(f"{kind} {monitor['metadata']['name']}: selects no pod the local tier plays "
                         "(an operator's pods, or a loopback stand-in): not scraped")
    return list(jobs.values()), notes


def alert_names(rule_dir: Path) -> list[str]:
    names = []
    for path in sorted(rule_dir.glob("*.yaml")):
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups", []):
            names += [rule["alert"] for rule in group.get("rules", []) if "alert" in rule]
    return sorted(set(names))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def loopback_prometheus(scrape: list[dict[str, Any]], rule_dir: Path | None) -> Iterator[str]:
    """The Debian Prometheus on a free loopback port with these scrape jobs and rule files; yields its URL."""
    binary = shutil.which("prometheus")
    if not binary:
        raise RuntimeError("prometheus not found: install the Debian package prometheus (scripts/install)")
    root = Path(tempfile.mkdtemp(prefix="wfp-local-prom-"))
    rule_files = [str(path) for path in sorted(rule_dir.glob("*.yaml"))] if rule_dir and rule_dir.is_dir() else []
    config = {"global": {"scrape_interval": "2s", "evaluation_interval": "2s"}, "rule_files": rule_files,
              "scrape_configs": scrape}
    (root / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    port = _free_port()
    log = (root / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [binary, f"--config.file={root / 'prometheus.yml'}", f"--storage.tsdb.path={root / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/-/ready", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Prometheus did not become ready: {(root / 'prometheus.log').read_text()[-500:]}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(root, ignore_errors=True)


def local_inventory(loaded: LoadedStage, state: TierState, objects: list[dict[str, Any]], prometheus_url: str | None,
                    rule_dir: Path | None, notes: list[str]) -> Inventory:
    service_port = loaded.config.service.port
    return Inventory(
        stage=state.stage,
        hosts=tuple(podman_hosts(state, objects)),
        endpoints=Endpoints(
            # no Envoy Gateway under podman: the health endpoints are asked of the service's own port
            edge_url=f"http://127.0.0.1:{service_port}",
            prometheus_url=prometheus_url,
            expected_alerts=tuple(alert_names(rule_dir)) if rule_dir and rule_dir.is_dir() else (),
        ),
        notes=tuple(state.skipped + notes + [
            "the edge (Envoy Gateway), operators (CloudNativePG, ECK, kube-prometheus-stack) are out of scope of "
            "the local tier; backup freshness from kube-state-metrics is replaced by the Job exit codes below",
        ]),
    )


def job_checks(state: TierState) -> list[Check]:
    """The local tier's stage checks: each CronJob's pod template ran once to success."""
    return [
        Check("stage", "test_cronjob_pod_template_runs_to_success", job.source.split("/", 1)[-1],
              "passed" if job.exit_code == 0 else "failed",
              "" if job.exit_code == 0 else f"exit {job.exit_code} after {job.attempts} attempt(s); log {job.log_file}",
              job.seconds)
        for job in state.job_runs
    ]


def verify_local(loaded: LoadedStage, release: dict[str, Any] | None = None) -> VerifyResult:
    """Run tests/verify against the stage's podman containers and record the verdict like any stage."""
    state = TierState.load(loaded.config.stage)
    if state is None:
        raise RuntimeError(f"the local tier of {loaded.config.stage!r} is not up: run `wfdeploy up {loaded.config.stage}`")
    stage_dir = build_dir() / state.stage
    objects = rendered_objects(stage_dir)
    rule_dir = stage_dir / "monitoring" / "rules"
    scrape, notes = scrape_configs(objects, state)
    previous = {name: os.environ.get(name) for name in ("CONTAINERS_CONF", "CONTAINERS_REGISTRIES_CONF")}
    # testinfra's podman backend runs `podman exec` with the environment it inherits
    os.environ.update({name: value for name, value in state.podman().env.items() if name in previous})
    try:
        with loopback_prometheus(scrape, rule_dir) as prometheus_url:
            inventory = local_inventory(loaded, state, objects, prometheus_url, rule_dir, notes)
            result = verify(inventory, build_dir(), release)
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    result.checks += job_checks(state)
    if not state.ready:
        result.missing.append("the local tier's long-running pods did not all become ready (see wfdeploy up)")
    write_result(result, result_dir(build_dir(), state.stage))
    return result
