"""Connectivity gate: network-config-analyzer's computed connectivity must equal the flows table exactly.

The rendered NetworkPolicies, workloads and namespaces are handed to `nca` as
files (its PATH holds no kubectl, so it cannot reach a cluster). Pods that a
chart or an operator creates at runtime are not in the rendered manifests;
the gate stands in one Pod per such endpoint of the table, with the labels the
table selects them by. Every connection nca computes that touches an owned
namespace must come from a flow, and every flow must be fully allowed; any
difference fails and names the flow.
"""

from __future__ import annotations

import ipaddress
import re
import subprocess
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import yaml

from components.network.flows import Addresses, Flow, Peer, Workload, intended_flows, platform_namespaces
from wfdeploy.interrupts import run_tool
from wfdeploy.paths import PROJECT_ROOT
from wfdeploy.render.context import GateFailure, RenderContext
from wfdeploy.render.documents import read_yaml
from wfdeploy.render.gates.preimported import LauncherGone, PreimportedTool

NCA = PROJECT_ROOT / ".venv-nca" / "bin" / "nca"
NCA_TIMEOUT_SECONDS = 120
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod")
ALL_PORTS = "*"

IpKey = tuple[str, str, str, Any]  # (direction, node, protocol, port)
PodAtom = tuple[str, str, str, Any]  # (source node, destination node, protocol, port)


@dataclass(frozen=True)
class Node:
    """One endpoint as nca names it: 'namespace/name[Kind]'."""

    id: str
    namespace: str
    labels: tuple[tuple[str, str], ...]

    def selected_by(self, workload: Workload) -> bool:
        return self.namespace == workload.namespace and set(workload.labels) <= set(self.labels)


class ConnectivityError(Exception):
    """nca could not run or printed something this gate cannot read."""


# -- inputs --------------------------------------------------------------------------------------


def pod_template(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec") or {}
    if obj["kind"] == "Pod":
        return obj
    if obj["kind"] == "CronJob":
        return spec["jobTemplate"]["spec"]["template"]
    return spec["template"]


#: nca's input only, so libyaml's emitter where there is one (its bytes need not match build/).
_NCA_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def rendered_objects(output_dir: Path) -> list[dict[str, Any]]:
    return [read_yaml(path) for path in sorted((output_dir / "manifests").rglob("*.yaml"))]


def _namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}}}


def _stand_in(workload: Workload) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": workload.name, "namespace": workload.namespace, "labels": workload.selector},
        "spec": {"containers": [{"name": workload.name, "image": "stand-in"}]},
    }


def workloads_of(flows: Iterable[Flow]) -> list[Workload]:
    found: dict[Workload, None] = {}
    for flow in flows:
        for peer in (flow.source, flow.destination):
            if isinstance(peer, Workload):
                found[peer] = None
    return list(found)


def provider_problems(flows: list[Flow], objects: list[dict[str, Any]], charts: set[str]) -> list[GateFailure]:
    """Endpoints whose pods come from a chart or custom resource the stage does not declare."""
    declared = {f"{obj['kind']}/{obj['metadata'].get('name')}" for obj in objects}
    problems = []
    for workload in workloads_of(flows):
        provider = workload.provided_by
        if provider is None or provider == "cluster":
            continue
        present = provider.removeprefix("chart:") in charts if provider.startswith("chart:") else provider in declared
        if not present:
            problems.append(GateFailure(str(workload), f"its pods come from {provider}, which this stage does not declare"))
    return problems


def build_inputs(objects: list[dict[str, Any]], flows: list[Flow], folder: Path) -> list[Node]:
    """Write nca's input files (policies/ and resources/) and return the endpoints it will see."""
    policies, resources = folder / "policies", folder / "resources"
    policies.mkdir()
    resources.mkdir()
    namespaces: set[str] = set()
    nodes: list[Node] = []
    documents = []
    for obj in objects:
        kind = obj.get("kind")
        if kind == "NetworkPolicy":
            (policies / f"{obj['metadata']['namespace']}.{obj['metadata']['name']}.yaml").write_text(yaml.dump(obj, Dumper=_NCA_DUMPER))
        elif kind == "Namespace":
            name = obj["metadata"]["name"]
            namespaces.add(name)
            # the API server sets this label on every namespace; policies select namespaces by it
            labels = {**(obj["metadata"].get("labels") or {}), "kubernetes.io/metadata.name": name}
            documents.append({**obj, "metadata": {**obj["metadata"], "labels": labels}})
        elif kind in WORKLOAD_KINDS:
            metadata = obj["metadata"]
            labels = (pod_template(obj).get("metadata") or {}).get("labels") or {}
            nodes.append(Node(f"{metadata['namespace']}/{metadata['name']}[{kind}]", metadata["namespace"], tuple(sorted(labels.items()))))
            documents.append(obj)
    for workload in workloads_of(flows):
        if workload.provided_by is not None:
            documents.append(_stand_in(workload))
            nodes.append(Node(f"{workload.namespace}/{workload.name}[Pod]", workload.namespace, workload.labels))
    for name in sorted({node.namespace for node in nodes} | {w.namespace for w in workloads_of(flows)} - namespaces):
        documents.append(_namespace(name))
    (resources / "resources.yaml").write_text(yaml.dump_all(documents, Dumper=_NCA_DUMPER))
    return nodes


#: This process's nca, imported ahead of its runs (`start_nca`); None where it was not started or has gone.
_preimported: PreimportedTool | None = None


def start_nca() -> None:
    """Import nca now, in the background, for every later run in this process (a pool worker renders several stages)."""
    global _preimported
    if _preimported is None and NCA.is_file():
        _preimported = PreimportedTool(NCA.parent / "python", "nca")


def stop_nca() -> None:
    global _preimported
    if _preimported is not None:
        _preimported.stop()
        _preimported = None


def _nca(argv: list[str], folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """One nca run: in the preimported nca where there is one, else as its own process."""
    global _preimported
    if _preimported is not None:
        try:
            return _preimported.run(argv, cwd=folder, env=env, timeout=NCA_TIMEOUT_SECONDS)
        except LauncherGone:
            _preimported = None  # ran its own way from now on; what went wrong shows if that fails too
    return run_tool([str(NCA), *argv], env=env, timeout=NCA_TIMEOUT_SECONDS, cwd=folder)


def run_nca(folder: Path) -> str:
    if not NCA.is_file():
        raise ConnectivityError(f"{NCA} is missing: run scripts/install")
    # a PATH without kubectl: nca must read the files, never a cluster
    env = {"PATH": str(NCA.parent), "HOME": str(folder), "LANG": "C.UTF-8"}
    argv = [
        "--connectivity", str(folder / "policies"), "--resource_list", str(folder / "resources"),
        "--output_format", "txt_no_fw_rules", "--file_out", str(folder / "connectivity.txt"),
    ]
    completed = _nca(argv, folder, env)
    output = folder / "connectivity.txt"
    if not output.is_file():
        raise ConnectivityError(f"nca exited {completed.returncode} without output: {completed.stderr.strip()[-2000:]}")
    return output.read_text()


# -- nca's answer --------------------------------------------------------------------------------

_IP_RANGE_RE = re.compile(r"^[0-9.]+(-[0-9.]+)?$")
_LINE_RE = re.compile(r"^(?P<src>\S+) => (?P<dst>\S+) : (?P<conn>.+)$")


def _ip_networks(text: str) -> list[ipaddress.IPv4Network] | None:
    parts = text.split(",")
    if not all(_IP_RANGE_RE.match(part) for part in parts):
        return None
    networks: list[ipaddress.IPv4Network] = []
    for part in parts:
        first, _, last = part.partition("-")
        networks += ipaddress.summarize_address_range(ipaddress.IPv4Address(first), ipaddress.IPv4Address(last or first))
    return networks


def _expand_ports(text: str) -> list[int]:
    ports: list[int] = []
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        ports += range(int(low), int(high or low) + 1)
    return ports


def parse_connections(conn: str) -> list[tuple[str, Any]]:
    """'{protocols:TCP, UDP,dst_ports:53}' (possibly several groups) as (protocol, port) pairs."""
    if conn.strip() == "All connections":
        return [("ALL", ALL_PORTS)]
    groups = re.findall(r"\{([^}]*)\}", conn)
    if not groups:
        raise ConnectivityError(f"cannot read nca connection {conn!r}")
    pairs: list[tuple[str, Any]] = []
    for group in groups:
        match = re.fullmatch(r"protocols:(?P<protocols>[A-Z, ]+?),?(?:dst_ports:(?P<ports>[0-9,\- ]+))?", group.strip())
        if not match:
            raise ConnectivityError(f"cannot read nca connection {conn!r}")
        protocols = [protocol.strip() for protocol in match["protocols"].split(",") if protocol.strip()]
        ports = _expand_ports(match["ports"]) if match["ports"] else [ALL_PORTS]
        pairs += [(protocol, port) for protocol in protocols for port in ports]
    return pairs


@dataclass
class Connectivity:
    """Connections between nodes, and between nodes and address ranges, as atoms."""

    pods: set[PodAtom]
    addresses: dict[IpKey, list[ipaddress.IPv4Network]]


def parse_connectivity(text: str, owned: set[str]) -> Connectivity:
    pods: set[PodAtom] = set()
    addresses: dict[IpKey, list[ipaddress.IPv4Network]] = defaultdict(list)

    def is_owned(node: str) -> bool:
        return node.split("/", 1)[0] in owned

    for line in text.splitlines():
        match = _LINE_RE.match(line.strip())
        if not match:
            continue
        src, dst, pairs = match["src"], match["dst"], parse_connections(match["conn"])
        src_ips, dst_ips = _ip_networks(src), _ip_networks(dst)
        for protocol, port in pairs:
            if src_ips is None and dst_ips is None:
                if is_owned(src) or is_owned(dst):
                    pods.add((src, dst, protocol, port))
            elif src_ips is None and is_owned(src):
                addresses[("egress", src, protocol, port)] += dst_ips or []
            elif dst_ips is None and is_owned(dst):
                addresses[("ingress", dst, protocol, port)] += src_ips or []
    return Connectivity(pods, {key: list(ipaddress.collapse_addresses(nets)) for key, nets in addresses.items()})


# -- comparison ----------------------------------------------------------------------------------


def _matching(peer: Peer, nodes: list[Node]) -> list[Node]:
    return [node for node in nodes if isinstance(peer, Workload) and node.selected_by(peer)]


def expected_atoms(flow: Flow, nodes: list[Node]) -> tuple[set[PodAtom], dict[IpKey, list[ipaddress.IPv4Network]]]:
    pods: set[PodAtom] = set()
    addresses: dict[IpKey, list[ipaddress.IPv4Network]] = {}
    pairs = [(protocol, port) for protocol in flow.protocols for port in flow.ports]
    if isinstance(flow.destination, Addresses):
        networks = [ipaddress.ip_network(cidr) for cidr in flow.destination.cidrs]
        for node in _matching(flow.source, nodes):
            for protocol, port in pairs:
                addresses[("egress", node.id, protocol, port)] = networks
    elif isinstance(flow.source, Addresses):
        networks = [ipaddress.ip_network(cidr) for cidr in flow.source.cidrs]
        for node in _matching(flow.destination, nodes):
            for protocol, port in pairs:
                addresses[("ingress", node.id, protocol, port)] = networks
    else:
        for source in _matching(flow.source, nodes):
            for destination in _matching(flow.destination, nodes):
                if source != destination:
                    pods |= {(source.id, destination.id, protocol, port) for protocol, port in pairs}
    return pods, addresses


def _exclude(networks: list, minus: list) -> list:
    """Address ranges in `networks` not covered by `minus`."""
    remaining = list(ipaddress.collapse_addresses(networks))
    for block in ipaddress.collapse_addresses(minus):
        next_remaining = []
        for network in remaining:
            if network.subnet_of(block):
                continue
            if block.subnet_of(network):
                next_remaining += list(network.address_exclude(block))
            else:
                next_remaining.append(network)
        remaining = next_remaining
    return list(ipaddress.collapse_addresses(remaining))


def _describe(networks: list) -> str:
    return ",".join(str(network) for network in networks)


def compare(flows: list[Flow], nodes: list[Node], computed: Connectivity) -> list[GateFailure]:
    """Every difference between the table and nca's connectivity, naming the flow or the extra connection."""
    failures = []
    allowed_pods: set[PodAtom] = set()
    allowed_addresses: dict[IpKey, list] = defaultdict(list)
    for flow in flows:
        if isinstance(flow.source, Workload) and flow.source.labels and not _matching(flow.source, nodes):
            failures.append(GateFailure(flow.name, f"no pod matches the source {flow.source} ({flow.purpose})"))
            continue
        if isinstance(flow.destination, Workload) and not _matching(flow.destination, nodes):
            failures.append(GateFailure(flow.name, f"no pod matches the destination {flow.destination} ({flow.purpose})"))
            continue
        pods, addresses = expected_atoms(flow, nodes)
        allowed_pods |= pods
        missing = sorted(pods - computed.pods, key=str)
        for key, networks in addresses.items():
            allowed_addresses[key] += networks
            if uncovered := _exclude(networks, computed.addresses.get(key, [])):
                missing.append((key[1], _describe(uncovered), key[2], key[3]) if key[0] == "egress" else (_describe(uncovered), key[1], key[2], key[3]))
        if missing:
            shown = "; ".join(f"{src} -> {dst} {protocol}/{port}" for src, dst, protocol, port in missing[:6])
            more = f" (+{len(missing) - 6} more)" if len(missing) > 6 else ""
            failures.append(GateFailure(flow.name, f"missing flow ({flow.purpose}): nca denies {shown}{more}"))

    extra: dict[tuple[str, str], list[str]] = defaultdict(list)
    for src, dst, protocol, port in sorted(computed.pods - allowed_pods, key=str):
        extra[(src, dst)].append(f"{protocol}/{port}")
    for key, networks in sorted(computed.addresses.items(), key=str):
        if surplus := _exclude(networks, allowed_addresses.get(key, [])):
            direction, node, protocol, port = key
            pair = (node, _describe(surplus)) if direction == "egress" else (_describe(surplus), node)
            extra[pair].append(f"{protocol}/{port}")
    for (src, dst), ports in sorted(extra.items()):
        failures.append(GateFailure(f"{src} -> {dst}", f"extra flow not in the flows table: {', '.join(ports)}"))
    return failures


def check_connectivity(objects: list[dict[str, Any]], flows: list[Flow], owned: list[str], charts: set[str]) -> list[GateFailure]:
    """Run nca over rendered objects and compare with the flows; the whole gate, without a RenderContext."""
    failures = provider_problems(flows, objects, charts)
    with tempfile.TemporaryDirectory(prefix="nca-") as tmp:
        folder = Path(tmp)
        nodes = build_inputs(objects, flows, folder)
        try:
            computed = parse_connectivity(run_nca(folder), set(owned))
        except (ConnectivityError, subprocess.TimeoutExpired) as error:
            return failures + [GateFailure("network-config-analyzer", str(error))]
    return failures + compare(flows, nodes, computed)


def chart_names(context: RenderContext) -> set[str]:
    """Charts the stage installs, by chart name ('oci://…/gateway-helm' -> 'gateway-helm')."""
    return {
        str(resource.inputs.get("chart", "")).rstrip("/").rsplit("/", 1)[-1]
        for resource in context.synthesis.resources
        if resource.type.startswith("kubernetes:helm.sh/")
    }


def connectivity(context: RenderContext) -> list[GateFailure]:
    config = context.stage.config
    return check_connectivity(
        rendered_objects(context.output_dir), intended_flows(config), platform_namespaces(config), chart_names(context)
    )
