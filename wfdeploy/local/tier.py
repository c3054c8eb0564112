"""The local tier: a stage's own workloads run for real under `podman kube play` on this machine.

`up` renders the stage, builds (or finds cached) the mapped images, creates a
podman secret per Secret the pods reference (values generated here, never
printed), starts the loopback stand-ins, plays every long-running workload and
waits for its readiness probes, then runs each CronJob's pod template once and
records the exit codes. Everything created is written to a state file as it is
created, so that `down` removes exactly that, even after a failed `up`.
"""

from __future__ import annotations

import base64
import json
import secrets as random_secrets
import shutil
import socket
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from components.config import LoadedStage
from wfdeploy.jsonfile import Field, StoredFileError, check_object, check_objects, read_json, write_json_atomic
from wfdeploy.local.data import LoopbackPostgres, LoopbackS3, StandInError, stop_stand_in
from wfdeploy.local.images import ImageBuildError, build_images
from wfdeploy.local.play import CNPG_GROUP, PlayedPod, PlayError, PlayPlan, build_plan, hosts_file
from wfdeploy.local.podman import Podman, PodmanError, containers_conf_with_hosts
from wfdeploy.paths import LOCAL_TIER_FOLDER, build_dir
from wfdeploy.render.context import RenderError
from wfdeploy.render.writer import render_stage

STATE_FILE = "state.json"
#: state.json, read through one schema: what `down` needs to remove is never guessed from a broken file.
STATE_SCHEMA = {
    "stage": Field((str,), required=True), "conf": Field((str,)), "hosts": Field((str,)),
    "pods": Field((list,), items=(dict,)), "secrets": Field((list,), items=(str,)),
    "volumes": Field((list,), items=(str,)), "stand_ins": Field((list,), items=(dict,)),
    "images": Field((dict,), items=(str,)), "images_built": Field((list,), items=(str,)),
    "jobs": Field((list,), items=(dict,)), "skipped": Field((list,), items=(str,)), "ready": Field((bool,)),
}
POD_SCHEMA = {"name": Field((str,), required=True)}
JOB_SCHEMA = {
    "pod": Field((str,), required=True), "source": Field((str,), required=True),
    "exit_code": Field((int, type(None)), required=True), "attempts": Field((int,), required=True),
    "seconds": Field((int, float), required=True), "log_file": Field((str,), required=True),
}
Log = Callable[[str], None]


class LocalTierError(RuntimeError):
    """`wfdeploy up/down` could not complete; the message says which step and object."""


def state_dir(stage: str) -> Path:
    return build_dir() / LOCAL_TIER_FOLDER / stage


@dataclass
class JobRun:
    pod: str
    source: str
    exit_code: int | None
    attempts: int
    seconds: float
    log_file: str


@dataclass
class TierState:
    """What `up` created; `down` removes exactly this."""

    stage: str
    conf: str = ""
    hosts: str = ""
    pods: list[dict[str, Any]] = field(default_factory=list)  # name, file, containers, run_once, volumes
    secrets: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    stand_ins: list[dict[str, Any]] = field(default_factory=list)
    images: dict[str, str] = field(default_factory=dict)  # recipe -> tag
    images_built: list[str] = field(default_factory=list)  # tags this `up` created
    jobs: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    ready: bool = False

    def save(self) -> None:
        try:
            write_json_atomic(state_dir(self.stage) / STATE_FILE, asdict(self))
        except StoredFileError as error:
            raise LocalTierError(str(error)) from None

    @classmethod
    def load(cls, stage: str) -> "TierState | None":
        """What `up` recorded for the stage, None when it is not up; LocalTierError naming the file when unreadable."""
        path = state_dir(stage) / STATE_FILE
        try:
            raw = read_json(path)
        except StoredFileError as error:
            raise LocalTierError(f"{error}; remove what it lists by hand (podman pod/secret/volume ls)") from None
        if raw is None:
            return None
        problems = check_object(raw, STATE_SCHEMA, "$")
        if not problems:
            problems += check_objects(raw.get("pods", []), POD_SCHEMA, "$.pods")
            problems += check_objects(raw.get("jobs", []), JOB_SCHEMA, "$.jobs")
        if not problems and raw["stage"] != stage:
            problems.append(f"$.stage: {raw['stage']!r}, but this is the state of {stage!r}")
        if problems:
            raise LocalTierError(
                f"{path}: not a local-tier state file ({'; '.join(problems[:5])}); "
                "remove what it lists by hand (podman pod/secret/volume ls), then the file"
            )
        # fields a newer version added are not this version's to act on
        return cls(**{name: raw[name] for name in STATE_SCHEMA if name in raw})

    def podman(self) -> Podman:
        return Podman(Path(self.conf)) if self.conf else Podman()

    @property
    def job_runs(self) -> list[JobRun]:
        return [JobRun(**{name: job[name] for name in JOB_SCHEMA}) for job in self.jobs]


# -- rendered stage ----------------------------------------------------------------------


def rendered_objects(stage_dir: Path) -> list[dict[str, Any]]:
    """Every Kubernetes object of a rendered stage folder, in a stable order."""
    objects = []
    for path in sorted((stage_dir / "manifests").rglob("*.yaml")):
        objects += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return objects


def _image_refs(loaded: LoadedStage, keys: dict[str, str]) -> dict[str, str]:
    """Stage image key (camelCase) -> the image reference the stage declares."""
    images = loaded.config.images
    by_alias = {info.alias or name: name for name, info in type(images).model_fields.items()}
    refs = {}
    for key in keys:
        value = getattr(images, by_alias[key])
        if value is None:
            raise LocalTierError(f"localTier maps images.{key}, but the stage declares no such image")
        refs[key] = value
    return refs


# -- secrets -------------------------------------------------------------------------------


def secret_values(plan: PlayPlan, objects: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, str]]:
    """Throwaway values for every Secret the pods use, (namespace, name) -> {key: value}.

    A value is shared by Secrets of the same name and key (the platform copies one
    credential into each namespace that needs it); a username that an operator's
    CR names (CloudNativePG bootstrap owner) is taken from the CR.
    """
    known: dict[tuple[str, str], str] = {}
    for obj in objects:
        if obj["kind"] == "Cluster" and obj.get("apiVersion", "").startswith(CNPG_GROUP):
            initdb = obj["spec"].get("bootstrap", {}).get("initdb", {})
            if initdb.get("secret", {}).get("name") and initdb.get("owner"):
                known[(initdb["secret"]["name"], "username")] = initdb["owner"]
    wanted = {(secret.namespace, secret.name): secret.keys for secret in plan.secrets}
    declared = {(obj["metadata"].get("namespace", "default"), obj["metadata"]["name"]): obj
                for obj in objects if obj["kind"] == "Secret"}
    for obj in objects:  # Secrets a data service's CR names, which no pod may reference
        if obj["kind"] == "Cluster" and obj.get("apiVersion", "").startswith(CNPG_GROUP):
            namespace = obj["metadata"].get("namespace", "default")
            spec = obj["spec"]
            names = [spec.get("bootstrap", {}).get("initdb", {}).get("secret", {}).get("name")]
            names += [role.get("passwordSecret", {}).get("name") for role in spec.get("managed", {}).get("roles", [])]
            for name in filter(None, names):
                secret = declared.get((namespace, name), {})
                wanted.setdefault((namespace, name), tuple({**secret.get("data", {}), **secret.get("stringData", {})}))
    values = {}
    for (namespace, name), keys in wanted.items():
        entry = {}
        for key in keys:
            if (name, key) not in known:
                known[(name, key)] = random_secrets.token_urlsafe(24)
            entry[key] = known[(name, key)]
        values[(namespace, name)] = entry
    return values


def _create_secrets(podman: Podman, plan: PlayPlan, values: dict[tuple[str, str], dict[str, str]], state: TierState) -> None:
    for secret in plan.secrets:
        # the format `podman kube play` reads for secretKeyRef: a JSON object of base64 values
        content = json.dumps({key: base64.b64encode(value.encode()).decode()
                              for key, value in values[(secret.namespace, secret.name)].items()})
        if podman.secret_exists(secret.podman_name):
            raise LocalTierError(f"podman secret {secret.podman_name} already exists: run `wfdeploy down {state.stage}`")
        podman.run("secret", "create", secret.podman_name, "-", input=content)
        state.secrets.append(secret.podman_name)
        state.save()


# -- loopback stand-ins ----------------------------------------------------------------------


def _start_stand_ins(plan: PlayPlan, objects: list[dict[str, Any]], values, state: TierState, log: Log) -> None:
    for stand_in in plan.stand_ins:
        source = stand_in.source
        if stand_in.kind == "postgresql" and source["kind"] == "Cluster":
            spec = source["spec"]
            namespace = source["metadata"].get("namespace", "default")
            parameters = dict(spec.get("postgresql", {}).get("parameters", {}))
            preload = spec.get("postgresql", {}).get("shared_preload_libraries")
            if preload:
                parameters["shared_preload_libraries"] = ",".join(preload)
            server = LoopbackPostgres.create(stand_in.ports[0], parameters)
            state.stand_ins.append(server.state())
            state.save()
            initdb = spec.get("bootstrap", {}).get("initdb", {})
            owner_secret = _secret_value(values, namespace, initdb.get("secret", {}).get("name"))
            roles = []
            for role in spec.get("managed", {}).get("roles", []):
                password = _secret_value(values, namespace, role.get("passwordSecret", {}).get("name"))
                roles.append({**role, "password": password.get("password")})
            server.bootstrap(
                owner=initdb.get("owner", "app"), password=owner_secret.get("password", ""),
                database=initdb.get("database", "app"), initdb=initdb, roles=roles,
            )
            log(f"stand-in PostgreSQL 15 on 127.0.0.1:{server.port} for {source['kind']} {source['metadata']['name']}")
        elif stand_in.kind == "s3":
            for port in stand_in.ports:
                server = LoopbackS3.start(port, state_dir(state.stage) / "logs" / f"s3-{port}.log")
                state.stand_ins.append(server.state())
                state.save()
                log(f"stand-in S3 (moto) on 127.0.0.1:{port} for {source['kind']} {source['metadata']['name']}")


def _secret_value(values, namespace: str, name: str | None) -> dict[str, str]:
    if not name:
        return {}
    if (namespace, name) in values:
        return values[(namespace, name)]
    raise LocalTierError(f"Secret {namespace}/{name} is named by a data service but used by no pod; cannot share its value")


# -- playing pods ----------------------------------------------------------------------------


def _play(podman: Podman, pod: PlayedPod, state: TierState) -> None:
    path = state_dir(state.stage) / "play" / f"{pod.name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(pod.yaml())
    state.pods.append({"name": pod.name, "file": str(path), "containers": pod.containers,
                       "run_once": pod.run_once, "namespace": pod.namespace,
                       "source": pod.pod["metadata"]["annotations"]["workflow-platform/source"]})
    state.volumes += [volume for volume in pod.volumes if volume not in state.volumes]
    state.save()
    podman.run("kube", "play", "--network", "host", "--log-driver", "k8s-file", "--start=false", str(path), timeout=180)
    _apply_config_map_modes(podman, pod)
    podman.run("pod", "start", pod.name, timeout=120)


def _apply_config_map_modes(podman: Podman, pod: PlayedPod) -> None:
    """Give ConfigMap files the mode the pod asks for (defaultMode / items[].mode), as the kubelet does.

    podman 4.3 writes every ConfigMap file 0644 whatever the volume says.
    """
    for volume in pod.pod["spec"].get("volumes", []):
        source = volume.get("configMap")
        if not source:
            continue
        mountpoint = Path(podman.run("volume", "inspect", source["name"], "--format", "{{.Mountpoint}}").stdout.strip())
        modes = {item["path"]: item["mode"] for item in source.get("items", []) if "mode" in item}
        for file in mountpoint.iterdir():
            if file.is_file():
                file.chmod(modes.get(file.name, source.get("defaultMode", 0o644)))


def _container_state(podman: Podman, container: str) -> dict[str, Any]:
    output = podman.run("container", "inspect", container, "--format", "{{json .State}}").stdout
    return json.loads(output)


def _port_number(container: dict[str, Any], port: Any) -> int:
    if isinstance(port, int) or str(port).isdigit():
        return int(port)
    for declared in container.get("ports", []):
        if declared.get("name") == port:
            return int(declared["containerPort"])
    raise LocalTierError(f"container {container['name']}: probe names unknown port {port!r}")


def probe_once(podman: Podman, container_name: str, container: dict[str, Any], probe: dict[str, Any]) -> bool:
    """One run of a Kubernetes probe, as the kubelet would (the pod shares the host's network)."""
    timeout = probe.get("timeoutSeconds", 1)
    if "httpGet" in probe:
        http = probe["httpGet"]
        url = f"http://127.0.0.1:{_port_number(container, http['port'])}{http.get('path', '/')}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                return 200 <= response.status < 400
        except (urllib.error.URLError, OSError):
            return False
    if "tcpSocket" in probe:
        try:
            with socket.create_connection(("127.0.0.1", _port_number(container, probe["tcpSocket"]["port"])), timeout):
                return True
        except OSError:
            return False
    if "exec" in probe:
        result = podman.run("exec", container_name, *probe["exec"]["command"], check=False, timeout=timeout + 10)
        return result.returncode == 0
    return True


def wait_ready(podman: Podman, pod: PlayedPod, timeout: float, log_dir: Path) -> None:
    """Wait until every container of the pod passes its readiness probe; fail at once if one exits."""
    deadline = time.monotonic() + timeout
    pending = dict(zip(pod.containers, pod.declared_containers))
    while pending:
        for name, container in list(pending.items()):
            status = _container_state(podman, name)
            if not status.get("Running"):
                _save_logs(podman, name, log_dir)
                raise LocalTierError(
                    f"pod {pod.name}: container {name} is {status.get('Status')} (exit {status.get('ExitCode')}); "
                    f"logs in {log_dir / (name + '.log')}"
                )
            probe = container.get("readinessProbe")
            if probe is None or probe_once(podman, name, container, probe):
                del pending[name]
        if not pending:
            return
        if time.monotonic() > deadline:
            for name in pending:
                _save_logs(podman, name, log_dir)
            raise LocalTierError(f"pod {pod.name}: {sorted(pending)} not ready within {timeout:.0f}s; logs in {log_dir}")
        time.sleep(0.5)


def _save_logs(podman: Podman, container: str, log_dir: Path) -> Path:
    log_dir.mkdir(parents=True, exist_ok=True)
    result = podman.run("logs", container, check=False)
    path = log_dir / f"{container}.log"
    path.write_text(result.stdout + result.stderr)
    return path


def _pause_images(podman: Podman) -> set[str]:
    listing = podman.run("images", "--filter", "reference=localhost/podman-pause", "--format", "{{.Repository}}:{{.Tag}}")
    return set(listing.stdout.split())


def _remove_pod(podman: Podman, name: str) -> None:
    podman.run("pod", "rm", "--force", "--ignore", name, check=False)


def run_job(podman: Podman, pod: PlayedPod, state: TierState, timeout: float, log: Log) -> JobRun:
    """Run a CronJob's pod template to completion; retried up to the Job's backoffLimit, as the Job controller does."""
    job_spec = pod.source.get("spec", {}).get("jobTemplate", {}).get("spec", pod.source.get("spec", {}))
    attempts_allowed = 1 + int(job_spec.get("backoffLimit", 0))
    deadline = min(timeout, float(job_spec.get("activeDeadlineSeconds", timeout)))
    log_dir = state_dir(state.stage) / "logs"
    started = time.monotonic()
    exit_code: int | None = None
    for attempt in range(1, attempts_allowed + 1):
        if attempt > 1:  # a new pod, with new emptyDirs, as the Job controller would create
            _remove_pod(podman, pod.name)
            for volume in pod.volumes:
                podman.run("volume", "rm", "--force", volume, check=False)
            state.pods = [entry for entry in state.pods if entry["name"] != pod.name]
        _play(podman, pod, state)
        exit_codes = []
        for container in pod.containers:
            remaining = max(1.0, deadline - (time.monotonic() - started))
            waited = podman.run("wait", container, check=False, timeout=remaining + 5)
            code = waited.stdout.strip()
            exit_codes.append(int(code) if code.lstrip("-").isdigit() else None)
            _save_logs(podman, container, log_dir)
        exit_code = 0 if all(code == 0 for code in exit_codes) else next(c for c in exit_codes if c != 0)
        if exit_code == 0:
            break
        log(f"job {pod.name}: attempt {attempt} exited {exit_code}")
    run = JobRun(pod=pod.name, source=pod.pod["metadata"]["annotations"]["workflow-platform/source"],
                 exit_code=exit_code, attempts=attempt, seconds=round(time.monotonic() - started, 1),
                 log_file=str(log_dir / f"{pod.containers[0]}.log"))
    state.jobs.append(asdict(run))
    state.save()
    return run


def _ordered_jobs(jobs: list[PlayedPod], order: list[str]) -> list[PlayedPod]:
    rank = {name: index for index, name in enumerate(order)}
    return sorted(jobs, key=lambda pod: rank.get(pod.source["metadata"]["name"], len(rank)))


# -- up / down -----------------------------------------------------------------------------


@dataclass
class UpResult:
    state: TierState
    plan: PlayPlan

    @property
    def ok(self) -> bool:
        return self.state.ready and all(job.exit_code == 0 for job in self.state.job_runs)


def up(loaded: LoadedStage, *, log: Log = print, ready_timeout: float = 120, job_timeout: float = 300,
       run_jobs: bool = True) -> UpResult:
    """Run the stage's workloads under podman; raises LocalTierError (after recording what exists) on failure."""
    config = loaded.config
    stage = config.stage
    tier = config.local_tier
    if tier is None:
        raise LocalTierError(f"stage {stage!r} has no localTier section: nothing maps its images to local ones")
    if TierState.load(stage) is not None:
        raise LocalTierError(f"the local tier of {stage!r} is already up (state in {state_dir(stage)}); run `wfdeploy down {stage}`")
    directory = state_dir(stage)
    if directory.exists():
        shutil.rmtree(directory)
    state = TierState(stage=stage)
    state.save()
    try:
        rendered = render_stage(loaded, build_dir(), run_gates=False)
        objects = rendered_objects(rendered.output_dir)

        refs = _image_refs(loaded, tier.images)
        built = build_images(sorted(set(tier.images.values())), log=log)
        state.images = {name: image.tag for name, image in built.items()}
        state.images_built = [image.tag for image in built.values() if image.built]
        state.save()
        image_map = {refs[key]: built[recipe].tag for key, recipe in tier.images.items()}
        loopback = {ref: tier.loopback[key] for key, ref in _image_refs(loaded, tier.loopback).items()}
        plan = build_plan(objects, image_map, loopback)
        state.skipped = plan.skipped + [
            f"{stand_in.source['kind']} {stand_in.source['metadata'].get('namespace', '-')}/"
            f"{stand_in.source['metadata']['name']}: replaced by loopback {stand_in.kind} on "
            f"127.0.0.1:{','.join(map(str, stand_in.ports))}"
            for stand_in in plan.stand_ins
        ]

        hosts = directory / "hosts"
        hosts.write_text(hosts_file(plan, objects))
        state.hosts = str(hosts)
        state.conf = str(containers_conf_with_hosts(hosts, directory / "containers.conf"))
        state.save()
        podman = state.podman()

        values = secret_values(plan, objects)
        _create_secrets(podman, plan, values, state)
        _start_stand_ins(plan, objects, values, state, log)

        pause_before = _pause_images(podman)
        for pod in plan.services:
            _play(podman, pod, state)
        # podman builds its pod infra image on first use: created by this `up`, so removed by `down --images`
        state.images_built += sorted(_pause_images(podman) - pause_before)
        state.save()
        for pod in plan.services:
            wait_ready(podman, pod, ready_timeout, directory / "logs")
            log(f"pod {pod.name} ready ({pod.pod['metadata']['annotations']['workflow-platform/source']})")
        state.ready = True
        state.save()
        if run_jobs:
            for pod in _ordered_jobs(plan.jobs, list(tier.job_order)):
                run = run_job(podman, pod, state, job_timeout, log)
                log(f"job {pod.name}: exit {run.exit_code} after {run.attempts} attempt(s), {run.seconds}s")
        return UpResult(state, plan)
    except (PlayError, ImageBuildError, PodmanError, StandInError, RenderError) as error:
        raise LocalTierError(str(error)) from error


def down(stage: str, *, remove_images: bool = False, log: Log = print) -> bool:
    """Remove every pod, volume, secret and stand-in `up` recorded (and the images it built, if asked)."""
    state = TierState.load(stage)
    if state is None:
        return False
    podman = state.podman()
    problems = []
    names = list(dict.fromkeys(pod["name"] for pod in reversed(state.pods)))
    if names:
        # one command: podman stops the pods in parallel; a process that ignores SIGTERM is killed after 5 s
        result = podman.run("pod", "rm", "--force", "--ignore", "--time", "5", *names, check=False, timeout=180)
        if result.returncode != 0:
            problems.append(f"pods {names}: {result.stderr.strip()}")
    for volume in state.volumes:
        podman.run("volume", "rm", "--force", volume, check=False)
    for secret in state.secrets:
        podman.run("secret", "rm", secret, check=False)
    for stand_in in reversed(state.stand_ins):
        stop_stand_in(stand_in)
    if remove_images:
        for tag in state.images_built:
            # by ID, so that no untagged layer is left; without --force, an image a container still uses stays
            image_id = podman.run("image", "inspect", tag, "--format", "{{.Id}}", check=False).stdout.strip()
            if image_id:
                podman.run("image", "rm", image_id, check=False)
    if problems:
        raise LocalTierError("down left things behind: " + "; ".join(problems))
    shutil.rmtree(state_dir(stage), ignore_errors=True)
    log(f"local tier of {stage!r} is down: {len(state.pods)} pod(s), {len(state.secrets)} secret(s), "
        f"{len(state.stand_ins)} stand-in(s) removed" + (f", {len(state.images_built)} image(s)" if remove_images else ""))
    return True
