"""Turning a rendered stage into what `podman kube play` runs on one machine, in memory.

The rendered objects are never edited on disk. For each workload the platform
defines, its pod template becomes one Pod, as the controller would create it:
a Deployment's first replica, a StatefulSet's ordinal 0 (hostname and volume
claims as the StatefulSet controller sets them), a CronJob's job template run
once (restartPolicy from the template, never restarted by podman). Images are
mapped to the locally built ones; Secret references are renamed to the podman
secrets the tier creates (podman secrets are global, Kubernetes Secrets are
per namespace); ConfigMaps of the pod's namespace travel in the same YAML.
Workloads whose image a loopback process stands in for are not played.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import yaml

from components.data import facts as data

#: API groups whose custom resources are served by an operator (out of scope under podman).
CNPG_GROUP = "postgresql.cnpg.io"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job")


class PlayError(ValueError):
    """The stage cannot be played as configured; the message names the object and what is missing."""


def podman_secret_name(namespace: str, name: str) -> str:
    return f"wfp.{namespace}.{name}"


def object_id(obj: dict[str, Any]) -> str:
    metadata = obj.get("metadata", {})
    return f"{obj['kind']} {metadata.get('namespace', '-')}/{metadata.get('name')}"


@dataclass
class PlayedPod:
    """One Pod to play: its YAML documents (ConfigMaps, then the Pod) and what it came from."""

    name: str
    namespace: str
    source: dict[str, Any]  # the rendered workload object
    documents: list[dict[str, Any]]
    run_once: bool  # a CronJob/Job's pod: runs to completion
    volumes: list[str] = field(default_factory=list)  # podman named volumes (volume claims)

    @property
    def pod(self) -> dict[str, Any]:
        return self.documents[-1]

    @property
    def declared_containers(self) -> list[dict[str, Any]]:
        """The containers as the rendered workload declares them (ports included)."""
        return _pod_template(self.source)["spec"]["containers"]

    @property
    def containers(self) -> list[str]:
        """podman's container names: <pod>-<container>."""
        return [f"{self.name}-{container['name']}" for container in self.pod["spec"]["containers"]]

    def yaml(self) -> str:
        return yaml.safe_dump_all(self.documents, sort_keys=True)


@dataclass
class SecretToCreate:
    namespace: str
    name: str
    keys: tuple[str, ...]
    source: dict[str, Any]

    @property
    def podman_name(self) -> str:
        return podman_secret_name(self.namespace, self.name)


@dataclass
class LoopbackStandIn:
    """A process on 127.0.0.1 that stands in for a data service or an unplayable workload."""

    kind: str  # "postgresql" | "s3"
    source: dict[str, Any]  # the CR or workload it replaces
    hostnames: tuple[str, ...]
    ports: tuple[int, ...]


@dataclass
class PlayPlan:
    pods: list[PlayedPod]
    secrets: list[SecretToCreate]
    stand_ins: list[LoopbackStandIn]
    skipped: list[str]  # objects not run, with the reason

    @property
    def services(self) -> list[PlayedPod]:
        return [pod for pod in self.pods if not pod.run_once]

    @property
    def jobs(self) -> list[PlayedPod]:
        return [pod for pod in self.pods if pod.run_once]


def service_hostnames(name: str, namespace: str) -> list[str]:
    """The DNS names a pod may use for a Service (or a StatefulSet pod under its headless Service)."""
    return [name, f"{name}.{namespace}", f"{name}.{namespace}.svc", f"{name}.{namespace}.svc.cluster.local"]


def hosts_file(plan: PlayPlan, objects: list[dict[str, Any]]) -> str:
    """/etc/hosts for every container: every Service name, and the stand-ins' names, on loopback."""
    names: list[str] = ["localhost"]
    for obj in objects:
        if obj["kind"] == "Service":
            names += service_hostnames(obj["metadata"]["name"], obj["metadata"].get("namespace", "default"))
    for pod in plan.pods:
        subdomain = pod.pod["spec"].get("subdomain")
        if subdomain:
            names += service_hostnames(f"{pod.name}.{subdomain}", pod.namespace)
    for stand_in in plan.stand_ins:
        names += stand_in.hostnames
    unique = list(dict.fromkeys(names))
    return "# written by wfdeploy up: the local tier has no cluster DNS; every Service is on loopback\n" + "".join(
        f"127.0.0.1\t{name}\n" for name in unique
    ) + "::1\tlocalhost ip6-localhost ip6-loopback\n"


def _pod_template(obj: dict[str, Any]) -> dict[str, Any] | None:
    spec = obj.get("spec", {})
    if obj["kind"] == "CronJob":
        return spec.get("jobTemplate", {}).get("spec", {}).get("template")
    return spec.get("template")


def _rename_secret_refs(pod_spec: dict[str, Any], namespace: str) -> set[str]:
    """Point every Secret reference at the podman secret; return the Secret names used."""
    used: set[str] = set()
    for container in pod_spec.get("initContainers", []) + pod_spec.get("containers", []):
        for item in container.get("env", []):
            ref = item.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                used.add(ref["name"])
                ref["name"] = podman_secret_name(namespace, ref["name"])
        for source in container.get("envFrom", []):
            if "secretRef" in source:
                used.add(source["secretRef"]["name"])
                source["secretRef"]["name"] = podman_secret_name(namespace, source["secretRef"]["name"])
    for volume in pod_spec.get("volumes", []):
        if "secret" in volume:
            used.add(volume["secret"]["secretName"])
            volume["secret"]["secretName"] = podman_secret_name(namespace, volume["secret"]["secretName"])
    return used


def _secrets_referenced(pod_spec: dict[str, Any]) -> set[str]:
    return _rename_secret_refs(copy.deepcopy(pod_spec), "") | {
        source["secret"]["name"]
        for volume in pod_spec.get("volumes", []) for source in volume.get("projected", {}).get("sources", [])
        if "secret" in source
    }


def _config_maps_used(pod_spec: dict[str, Any]) -> set[str]:
    used = set()
    for container in pod_spec.get("initContainers", []) + pod_spec.get("containers", []):
        used |= {source["configMapRef"]["name"] for source in container.get("envFrom", []) if "configMapRef" in source}
        used |= {
            item["valueFrom"]["configMapKeyRef"]["name"]
            for item in container.get("env", []) if "configMapKeyRef" in item.get("valueFrom", {})
        }
    used |= {volume["configMap"]["name"] for volume in pod_spec.get("volumes", []) if "configMap" in volume}
    return used


def _images(pod_spec: dict[str, Any]) -> list[str]:
    return [c["image"] for c in pod_spec.get("initContainers", []) + pod_spec.get("containers", [])]


def build_plan(
    objects: list[dict[str, Any]],
    image_map: dict[str, str],
    loopback_images: dict[str, str],
) -> PlayPlan:
    """Plan the local tier of a rendered stage.

    image_map: stage image reference -> local image tag; loopback_images: stage image reference -> stand-in kind.
    """
    by_namespace: dict[tuple[str, str, str], dict[str, Any]] = {
        (obj["kind"], obj["metadata"].get("namespace", "default"), obj["metadata"]["name"]): obj for obj in objects
    }
    pods: list[PlayedPod] = []
    stand_ins: list[LoopbackStandIn] = []
    skipped: list[str] = []
    secrets_used: set[tuple[str, str]] = set()

    for obj in objects:
        if obj.get("apiVersion", "").startswith(CNPG_GROUP + "/") and obj["kind"] in ("Cluster", "Pooler"):
            stand_ins.append(_postgres_stand_in(obj, loopback_images))

    for obj in objects:
        if obj["kind"] not in WORKLOAD_KINDS:
            continue
        template = _pod_template(obj)
        namespace = obj["metadata"].get("namespace", "default")
        images = _images(template["spec"])
        standing_in = {loopback_images[image] for image in images if image in loopback_images}
        if standing_in:
            stand_ins.append(_workload_stand_in(obj, standing_in.pop(), objects))
            continue
        undeclared = sorted(name for name in _secrets_referenced(template["spec"])
                            if ("Secret", namespace, name) not in by_namespace)
        if undeclared:
            # such Secrets come from an operator (ECK, …), which the local tier does not run
            skipped.append(f"{object_id(obj)}: not run; needs Secret(s) {undeclared} that the stage does not "
                           "declare (an operator's, out of scope here)")
            continue
        unmapped = [image for image in images if image not in image_map]
        if unmapped:
            raise PlayError(f"{object_id(obj)}: no local image for {unmapped}; map it under localTier.images")
        if obj["kind"] == "DaemonSet":
            skipped.append(f"{object_id(obj)}: one node here; played as a single pod")
        pod = _pod_from_workload(obj, template, namespace, image_map)
        secrets_used |= {(namespace, name) for name in _rename_secret_refs(pod.pod["spec"], namespace)}
        for name in sorted(_config_maps_used(pod.pod["spec"])):
            config_map = by_namespace.get(("ConfigMap", namespace, name))
            if config_map is None:
                raise PlayError(f"{object_id(obj)}: ConfigMap {namespace}/{name} is not declared by the stage")
            pod.documents.insert(-1, {"apiVersion": "v1", "kind": "ConfigMap",
                                      "metadata": {"name": name}, "data": dict(config_map.get("data", {}))})
        replicas = obj.get("spec", {}).get("replicas", 1)
        if obj["kind"] in ("Deployment", "StatefulSet") and replicas and replicas > 1:
            skipped.append(f"{object_id(obj)}: {replicas} replicas declared, 1 played (host network: one port each)")
        pods.append(pod)

    mounted_config_maps: dict[str, str] = {}
    for pod in pods:
        for volume in pod.pod["spec"].get("volumes", []):
            if "configMap" in volume:
                other = mounted_config_maps.setdefault(volume["configMap"]["name"], pod.namespace)
                if other != pod.namespace:
                    raise PlayError(f"ConfigMap {volume['configMap']['name']} is mounted from namespaces {other} and "
                                    f"{pod.namespace}; podman names ConfigMap volumes globally")
    names = [pod.name for pod in pods]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise PlayError(f"pod names {duplicates} occur in several namespaces; podman pod names are global")

    secrets = []
    for namespace, name in sorted(secrets_used):
        secret = by_namespace.get(("Secret", namespace, name))
        if secret is None:
            raise PlayError(f"Secret {namespace}/{name} is referenced but not declared by the stage")
        keys = tuple(sorted({**secret.get("data", {}), **secret.get("stringData", {})}))
        secrets.append(SecretToCreate(namespace, name, keys, secret))
    return PlayPlan(pods=pods, secrets=secrets, stand_ins=stand_ins, skipped=skipped)


def _pod_from_workload(obj: dict[str, Any], template: dict[str, Any], namespace: str, image_map: dict[str, str]) -> PlayedPod:
    kind, name = obj["kind"], obj["metadata"]["name"]
    spec = copy.deepcopy(template["spec"])
    metadata = copy.deepcopy(template.get("metadata", {}))
    for container in spec.get("initContainers", []) + spec.get("containers", []):
        container["image"] = image_map[container["image"]]
        container["imagePullPolicy"] = "Never"
        # podman 4.3 turns containerPorts into port mappings, which host networking rejects; on the host
        # network they only document what listens (verification still expects them, from the rendered spec)
        container.pop("ports", None)
    volumes: list[str] = []
    run_once = kind in ("CronJob", "Job")
    for volume in spec.get("volumes", []):
        if "emptyDir" in volume:
            # podman 4.3 makes a named volume per emptyDir, named like the pod's volume; unique names keep
            # two pods' emptyDirs apart, as they are on a node
            unique = f"{name}-{volume['name']}"
            for container in spec.get("initContainers", []) + spec.get("containers", []):
                for mount in container.get("volumeMounts", []):
                    if mount["name"] == volume["name"]:
                        mount["name"] = unique
            volume["name"] = unique
            volumes.append(unique)
        elif "configMap" in volume:
            volumes.append(volume["configMap"]["name"])  # podman names a ConfigMap's volume after the ConfigMap
    if kind == "StatefulSet":
        pod_name = f"{name}-0"
        # what the StatefulSet controller sets: a stable hostname under the headless Service, claims per ordinal
        spec["hostname"] = pod_name
        if obj["spec"].get("serviceName"):
            spec["subdomain"] = obj["spec"]["serviceName"]
        for claim in obj["spec"].get("volumeClaimTemplates", []):
            claim_name = f"{claim['metadata']['name']}-{pod_name}"
            spec.setdefault("volumes", []).append(
                {"name": claim["metadata"]["name"], "persistentVolumeClaim": {"claimName": claim_name}}
            )
            volumes.append(claim_name)
    elif run_once:
        pod_name = f"{name}-once"
        spec["restartPolicy"] = "Never"  # the Job controller, not the kubelet, would retry
    else:
        pod_name = name
    metadata["name"] = pod_name
    # podman 4.3 rejects annotation values over 63 characters (Kubernetes allows 256 KiB), e.g. checksum/settings,
    # which only exists to roll a Deployment when its ConfigMap changes
    metadata["annotations"] = {key: value for key, value in metadata.get("annotations", {}).items() if len(value) <= 63}
    metadata.setdefault("labels", {})["workflow-platform/local-tier"] = "true"
    metadata.setdefault("annotations", {})["workflow-platform/source"] = object_id(obj)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}
    return PlayedPod(name=pod_name, namespace=namespace, source=obj, documents=[pod], run_once=run_once, volumes=volumes)


def _postgres_stand_in(obj: dict[str, Any], loopback_images: dict[str, str]) -> LoopbackStandIn:
    name, namespace = obj["metadata"]["name"], obj["metadata"].get("namespace", "default")
    if obj["kind"] == "Cluster":
        image = obj["spec"].get("imageName")
        if image and loopback_images.get(image) != "postgresql":
            raise PlayError(f"{object_id(obj)}: map its image {image!r} to loopback 'postgresql' under localTier.loopback")
        # the Services CloudNativePG creates for a Cluster
        names = [f"{name}-{suffix}" for suffix in ("rw", "ro", "r")]
    else:
        names = [name]
    hostnames = tuple(host for service in names for host in service_hostnames(service, namespace))
    return LoopbackStandIn("postgresql", obj, hostnames, (data.POSTGRES_PORT,))


def _workload_stand_in(obj: dict[str, Any], kind: str, objects: list[dict[str, Any]]) -> LoopbackStandIn:
    """Loopback stand-in for a workload: reachable under the names and ports of the Services selecting it."""
    namespace = obj["metadata"].get("namespace", "default")
    labels = _pod_template(obj).get("metadata", {}).get("labels", {})
    hostnames: list[str] = []
    ports: list[int] = []
    for service in objects:
        if service["kind"] != "Service" or service["metadata"].get("namespace", "default") != namespace:
            continue
        selector = service.get("spec", {}).get("selector") or {}
        if selector and all(labels.get(key) == value for key, value in selector.items()):
            hostnames += service_hostnames(service["metadata"]["name"], namespace)
            ports += [int(port["port"]) for port in service["spec"].get("ports", [])]
    if not ports:
        raise PlayError(f"{object_id(obj)}: no Service selects it, so its stand-in has no address")
    return LoopbackStandIn(kind, obj, tuple(hostnames), tuple(sorted(set(ports))))
