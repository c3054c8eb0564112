"""NetworkPolicy manifests generated from the flows table.

Per owned namespace: one default-deny policy (ingress and egress), then one
`allow-<workload>` policy per workload of that namespace that appears in a
flow, holding its ingress rules (flows into it) and egress rules (flows out).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from components.kube import standard_labels

from .flows import Addresses, Flow, Peer, Workload

DEFAULT_DENY = "default-deny"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def _peers(peer: Peer) -> list[dict[str, Any]]:
    if isinstance(peer, Addresses):
        return [{"ipBlock": {"cidr": cidr}} for cidr in peer.cidrs]
    return [
        {
            "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: peer.namespace}},
            "podSelector": {"matchLabels": peer.selector} if peer.labels else {},
        }
    ]


def _ports(flow: Flow) -> list[dict[str, Any]]:
    return [{"protocol": protocol, "port": port} for protocol in flow.protocols for port in flow.ports]


def _metadata(name: str, namespace: str) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": standard_labels(name, "network-policy")}


def default_deny(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _metadata(DEFAULT_DENY, namespace),
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    }


def policy_name(workload: Workload) -> str:
    return f"allow-{workload.name}"


def network_policies(flows: list[Flow], namespaces: list[str]) -> list[dict[str, Any]]:
    """Default deny in every namespace, plus the allow policies the flows need, in a stable order."""
    owned = set(namespaces)
    ingress: dict[Workload, list[Flow]] = defaultdict(list)
    egress: dict[Workload, list[Flow]] = defaultdict(list)
    for flow in flows:
        if isinstance(flow.source, Workload) and flow.source.namespace in owned:
            egress[flow.source].append(flow)
        if isinstance(flow.destination, Workload) and flow.destination.namespace in owned:
            ingress[flow.destination].append(flow)

    seen: dict[tuple[str, str], Workload] = {}
    for workload in set(ingress) | set(egress):
        other = seen.setdefault((workload.namespace, workload.name), workload)
        if other != workload:
            raise ValueError(f"two workloads named {workload} select different pods: {other.labels} and {workload.labels}")

    manifests = [default_deny(namespace) for namespace in namespaces]
    for workload in sorted(set(ingress) | set(egress), key=lambda item: (item.namespace, item.name)):
        spec: dict[str, Any] = {
            "podSelector": {"matchLabels": workload.selector} if workload.labels else {},
            "policyTypes": [],
        }
        if ingress[workload]:
            spec["policyTypes"].append("Ingress")
            spec["ingress"] = [{"from": _peers(flow.source), "ports": _ports(flow)} for flow in ingress[workload]]
        if egress[workload]:
            spec["policyTypes"].append("Egress")
            spec["egress"] = [{"to": _peers(flow.destination), "ports": _ports(flow)} for flow in egress[workload]]
        manifests.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": _metadata(policy_name(workload), workload.namespace),
                "spec": spec,
            }
        )
    return manifests
