"""`cluster up|down`: an ephemeral Kubernetes control plane on 127.0.0.1.

etcd, kube-apiserver (RBAC, service-account signing keys, certificates made
here), kube-controller-manager, kube-scheduler and kwok (simulated nodes: pods
become Running and Ready, Job pods complete), every one on a free loopback
port; a kubeconfig; the pinned upstream CRDs, Established. Whatever `up`
started is stopped again if any step fails, and `down` stops it from any
process by the state file in the cluster folder.
"""

from __future__ import annotations

import shutil
import signal
import ssl
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator

import yaml

from wfdeploy.cluster import crds, pki
from wfdeploy.cluster.api import ApiClient, ApiError
from wfdeploy.cluster.processes import Started, State, free_port, start, stop, tail
from wfdeploy.cluster.toolchain import binaries
from wfdeploy.paths import build_dir

#: The Kubernetes minor every stage declares (`cluster.kubernetesVersion`); the API server must report it.
KUBERNETES_MINOR = "1.34"
SERVICE_CIDR = "10.96.0.0/16"
KUBERNETES_SERVICE_IP = "10.96.0.1"
POD_CIDR = "10.244.0.0/16"
CLUSTER_NAME = "wfdeploy-ephemeral"
#: How kwok's simulated kubelets behave (kwok >= 0.8 has no built-in stages).
KWOK_STAGES = Path(__file__).with_name("kwok-stages.yaml")
#: Nodes kwok manages carry this annotation; kwok leaves every other node alone.
KWOK_NODE_ANNOTATION = ("kwok.x-k8s.io/node", "fake")

#: What a claim without `storageClassName` gets (the DefaultStorageClass admission plugin sets it).
DEFAULT_STORAGE_CLASS = {
    "apiVersion": "storage.k8s.io/v1",
    "kind": "StorageClass",
    "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
    "provisioner": "kubernetes.io/host-path",
    "reclaimPolicy": "Delete",
    "volumeBindingMode": "Immediate",
}

Log = Callable[[str], None]


class ClusterError(RuntimeError):
    """The control plane could not be started or stopped; nothing it started is left running."""


def cluster_dir() -> Path:
    return build_dir() / "cluster"


@dataclass(frozen=True)
class ClusterSettings:
    """What `up` builds: where, which kubeconfig contexts, how many simulated nodes."""

    directory: Path = field(default_factory=cluster_dir)
    contexts: tuple[str, ...] = (CLUSTER_NAME,)
    nodes: int = 3
    #: Nodes are spread over these `topology.kubernetes.io/zone` values (none: no zone label).
    zones: tuple[str, ...] = ()
    timeout: float = 240.0


def admin_client(directory: Path) -> ApiClient:
    state = State.load(directory)
    if state is None or not state.server:
        raise ClusterError(f"no cluster is up in {directory} (run `wfdeploy cluster up`)")
    pki_dir = directory / "pki"
    return ApiClient(state.server, pki_dir / "ca.crt", pki_dir / "client-admin.crt", pki_dir / "client-admin.key")


def _wait(what: str, check: Callable[[], bool], deadline: float, process: Started | None = None) -> None:
    """Poll `check` until it is true; fail early, with the log's end, when the process died."""
    last_error = ""
    while True:
        try:
            if check():
                return
        except (ApiError, OSError, ValueError) as error:
            last_error = str(error)
        if process is not None and not process.alive():
            raise ClusterError(f"{process.name} exited while waiting for {what}; end of {process.log}:\n{tail(process.log)}")
        if time.monotonic() > deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            log_hint = f"; end of {process.log}:\n{tail(process.log)}" if process else ""
            raise ClusterError(f"timed out waiting for {what}{detail}{log_hint}")
        time.sleep(0.3)


def _https_ok(url: str, ca_file: Path) -> bool:
    context = ssl.create_default_context(cafile=str(ca_file))
    with urllib.request.urlopen(url, context=context, timeout=5) as response:
        return response.status == 200


def _http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status == 200


def _kubeconfig(path: Path, server: str, ca: Path, cert: Path, key: Path, contexts: tuple[str, ...]) -> None:
    """A kubeconfig whose contexts all point at this cluster as one user (the first is current)."""
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CLUSTER_NAME, "cluster": {"server": server, "certificate-authority": str(ca)}}],
        "users": [{"name": path.stem, "user": {"client-certificate": str(cert), "client-key": str(key)}}],
        "contexts": [{"name": name, "context": {"cluster": CLUSTER_NAME, "user": path.stem}} for name in contexts],
        "current-context": contexts[0],
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    path.chmod(0o600)


def _node(index: int, zones: tuple[str, ...]) -> dict:
    name = f"kwok-node-{index}"
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "type": "kwok",
    }
    if zones:
        labels["topology.kubernetes.io/zone"] = zones[index % len(zones)]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels, "annotations": {KWOK_NODE_ANNOTATION[0]: KWOK_NODE_ANNOTATION[1]}},
        "status": {
            "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
            "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"},
        },
    }


def _node_ready(node: dict) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


@contextmanager
def _interruptible() -> Iterator[None]:
    """SIGTERM during `up` unwinds like Ctrl-C, so the cleanup below still runs."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def up(settings: ClusterSettings = ClusterSettings(), log: Log = lambda message: None) -> State:
    """Start the whole control plane; on any failure stop what was started and raise ClusterError."""
    directory = settings.directory.resolve()
    existing = State.load(directory)
    if existing is not None:
        if any(process.alive() for process in existing.processes):
            raise ClusterError(f"a cluster is already up in {directory} ({existing.server}); `wfdeploy cluster down` first")
        _remove(directory)  # a previous run died without `down`: nothing of it runs any more
    bins = binaries()
    state = State(directory=str(directory), contexts=settings.contexts)
    try:
        with _interruptible():
            state = _start_all(settings, directory, bins, state, log)
    except BaseException as error:
        log("stopping what was started")
        _stop_all(State.load(directory) or state)
        _remove(directory, keep_logs=True)
        if isinstance(error, ClusterError):
            raise
        if isinstance(error, KeyboardInterrupt):
            raise ClusterError(f"interrupted ({error or 'Ctrl-C'}); everything started was stopped") from None
        raise ClusterError(f"{type(error).__name__}: {error}; everything started was stopped") from error
    return state


def _start_all(settings: ClusterSettings, directory: Path, bins: dict[str, Path], state: State, log: Log) -> State:
    deadline = time.monotonic() + settings.timeout
    pki_dir, logs = directory / "pki", directory / "logs"
    for folder in (pki_dir, logs, directory / "etcd"):
        folder.mkdir(parents=True, exist_ok=True)
    pki_dir.chmod(0o700)
    ca = pki.CertificateAuthority(pki_dir)
    sa_key, sa_pub = pki.service_account_keys(pki_dir)
    clients = {identity: ca.client(identity) for identity in pki.CLIENTS}

    def started(process: Started) -> Started:
        nonlocal state
        state = replace(state, processes=state.processes + (process,))
        state.save()
        return process

    # etcd: plain HTTP, but on loopback only and reachable by this user's processes alone
    client_port, peer_port = free_port(), free_port()
    etcd_url, peer_url = f"http://127.0.0.1:{client_port}", f"http://127.0.0.1:{peer_port}"
    etcd = started(start("etcd", [
        str(bins["etcd"]), "--name", "wfdeploy", "--data-dir", str(directory / "etcd"),
        "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
        "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
        "--initial-cluster", f"wfdeploy={peer_url}",
        # an ephemeral cluster's data need not survive a power cut; fsync would dominate on a busy disk
        "--unsafe-no-fsync",
    ], logs))
    _wait("etcd /health", lambda: _http_ok(f"{etcd_url}/health"), deadline, etcd)
    log(f"etcd ready on {etcd_url}")

    api_port = free_port()
    server = f"https://127.0.0.1:{api_port}"
    serving_cert, serving_key = ca.serving("apiserver", (
        "kubernetes", "127.0.0.1", "localhost", "kubernetes.default", "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local", KUBERNETES_SERVICE_IP,
    ))
    apiserver = started(start("kube-apiserver", [
        str(bins["kube-apiserver"]),
        "--bind-address=127.0.0.1", f"--secure-port={api_port}", "--advertise-address=127.0.0.1",
        f"--etcd-servers={etcd_url}",
        f"--tls-cert-file={serving_cert}", f"--tls-private-key-file={serving_key}",
        f"--client-ca-file={ca.cert_file}", f"--cert-dir={pki_dir}",
        "--authorization-mode=Node,RBAC",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={sa_pub}", f"--service-account-signing-key-file={sa_key}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        # the policy pack, not the API server, is what refuses privileged containers
        "--allow-privileged=true",
        # the `kubernetes` Service endpoint may not be a loopback address; nothing in the cluster needs it
        "--endpoint-reconciler-type=none",
        "--profiling=false",
    ], logs))
    state = replace(state, server=server)
    state.save()
    admin = ApiClient(server, ca.cert_file, *clients[pki.ADMIN])
    _wait("kube-apiserver /readyz", lambda: admin.get("/readyz") == "ok", deadline, apiserver)
    _check_version(admin)
    log(f"kube-apiserver ready on {server}")

    admin.post("/apis/storage.k8s.io/v1/storageclasses", DEFAULT_STORAGE_CLASS)
    kubeconfigs = {}
    for identity in pki.CLIENTS:
        path = directory / f"{identity.file_stem}.kubeconfig"
        contexts = settings.contexts if identity is pki.ADMIN else (CLUSTER_NAME,)
        _kubeconfig(path, server, ca.cert_file, *clients[identity], contexts)
        kubeconfigs[identity] = path
    state = replace(state, kubeconfig=str(kubeconfigs[pki.ADMIN]))
    state.save()

    cm_port = free_port()
    cm_cert, cm_key = ca.serving("controller-manager-serving", ("127.0.0.1", "localhost"))
    controller_manager = started(start("kube-controller-manager", [
        str(bins["kube-controller-manager"]),
        f"--kubeconfig={kubeconfigs[pki.CONTROLLER_MANAGER]}",
        "--bind-address=127.0.0.1", f"--secure-port={cm_port}",
        f"--tls-cert-file={cm_cert}", f"--tls-private-key-file={cm_key}",
        "--leader-elect=false", "--use-service-account-credentials=true",
        f"--service-account-private-key-file={sa_key}", f"--root-ca-file={ca.cert_file}",
        f"--cluster-signing-cert-file={ca.cert_file}", f"--cluster-signing-key-file={pki_dir / 'ca.key'}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        # kwok mounts nothing, but a pod with an unbound claim is never scheduled: PVCs get host-path PVs
        "--enable-hostpath-provisioner",
    ], logs))
    scheduler_port = free_port()
    scheduler_cert, scheduler_key = ca.serving("scheduler-serving", ("127.0.0.1", "localhost"))
    scheduler = started(start("kube-scheduler", [
        str(bins["kube-scheduler"]),
        f"--kubeconfig={kubeconfigs[pki.SCHEDULER]}",
        "--bind-address=127.0.0.1", f"--secure-port={scheduler_port}",
        f"--tls-cert-file={scheduler_cert}", f"--tls-private-key-file={scheduler_key}",
        "--leader-elect=false",
    ], logs))
    kwok_port = free_port()
    kwok = started(start("kwok", [
        str(bins["kwok"]),
        f"--kubeconfig={kubeconfigs[pki.KWOK]}",
        "--manage-all-nodes=false",
        f"--manage-nodes-with-annotation-selector={'='.join(KWOK_NODE_ANNOTATION)}",
        f"--cidr={POD_CIDR}", "--node-ip=10.0.0.1",
        f"--server-address=127.0.0.1:{kwok_port}",
        "--node-lease-duration-seconds=40",
        f"--config={KWOK_STAGES}",
    ], logs))

    _wait("kube-controller-manager /healthz",
          lambda: _https_ok(f"https://127.0.0.1:{cm_port}/healthz", ca.cert_file), deadline, controller_manager)
    _wait("kube-scheduler /healthz",
          lambda: _https_ok(f"https://127.0.0.1:{scheduler_port}/healthz", ca.cert_file), deadline, scheduler)
    # the service-account controller works once `default` has its ServiceAccount (pods need it)
    _wait("the default ServiceAccount (controller-manager)",
          lambda: bool(admin.get("/api/v1/namespaces/default/serviceaccounts/default")), deadline, controller_manager)
    log("kube-controller-manager and kube-scheduler ready")

    for index in range(settings.nodes):
        admin.post("/api/v1/nodes", _node(index, settings.zones))
    _wait(f"{settings.nodes} kwok node(s) Ready",
          lambda: sum(_node_ready(n) for n in admin.get("/api/v1/nodes")["items"]) >= settings.nodes, deadline, kwok)
    log(f"{settings.nodes} simulated node(s) Ready (kwok)")

    crds.install(admin, crds.load_crds(), max(deadline - time.monotonic(), 30), log)
    state = replace(state, ready=True)
    state.save()
    return state


def _check_version(admin: ApiClient) -> None:
    version = admin.get("/version").get("gitVersion", "")
    if not version.startswith(f"v{KUBERNETES_MINOR}."):
        raise ClusterError(
            f"kube-apiserver reports {version or 'no version'}, expected v{KUBERNETES_MINOR}.x "
            "(a build without the k8s.io/component-base/version ldflags reports v0.0.0)"
        )


def _stop_all(state: State) -> None:
    for process in reversed(state.processes):  # clients first, etcd last
        stop(process)


def _remove(directory: Path, keep_logs: bool = False) -> None:
    """Delete what `up` wrote (etcd data, keys, kubeconfigs, state); the logs stay on request."""
    if not directory.is_dir():
        return
    for entry in directory.iterdir():
        if keep_logs and entry.name == "logs":
            continue
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def down(directory: Path | None = None, log: Log = lambda message: None) -> bool:
    """Stop every process `up` started and remove its files; False when no cluster was up."""
    directory = (directory or cluster_dir()).resolve()
    state = State.load(directory)
    if state is None:
        return False
    _stop_all(state)
    still = [process.name for process in state.processes if process.alive()]
    if still:
        raise ClusterError(f"could not stop {', '.join(still)} (pids in {State.path_in(directory)})")
    _remove(directory, keep_logs=True)
    log(f"stopped {len(state.processes)} process(es); removed {directory} (logs kept in {directory / 'logs'})")
    return True


@contextmanager
def running(settings: ClusterSettings = ClusterSettings(), log: Log = lambda message: None) -> Iterator[State]:
    """A control plane for the duration of a `with` block (the e2e tests use this)."""
    state = up(settings, log)
    try:
        yield state
    finally:
        down(settings.directory, log)
