"""Stack section `network`: the addresses NetworkPolicies allow beyond the cluster's own pods.

Everything inside the cluster is named by namespace and labels in
`components/network/flows.py`; only what lies outside it (the API server,
nodes, the object store, clients) and what may be exposed differ per stage.
"""

from __future__ import annotations

import ipaddress
import re

from pydantic import Field, field_validator

from .types import Cidr, DnsLabel, Section

_SERVICE_REF_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class DnsConfig(Section):
    """Where the cluster DNS pods run; every pod may query them."""

    namespace: DnsLabel = "kube-system"
    pod_labels: dict[str, str] = Field(default_factory=lambda: {"k8s-app": "kube-dns"}, min_length=1)
    port: int = Field(default=53, ge=1, le=65535)


class NetworkConfig(Section):
    """Peers outside the cluster's pod network, and which Services may be exposed."""

    kubernetes_api_cidrs: list[Cidr] = Field(min_length=1, description="API server endpoints, after Service DNAT")
    kubernetes_api_ports: list[int] = Field(default_factory=lambda: [443], min_length=1)
    node_cidrs: list[Cidr] = Field(min_length=1, description="node addresses: kubelet and node-exporter metrics")
    object_store_cidrs: list[Cidr] = Field(
        default_factory=list, description="S3 endpoint addresses backups and snapshots reach (stages that use S3)"
    )
    object_store_port: int = Field(default=443, ge=1, le=65535)
    aws_api_cidrs: list[Cidr] = Field(
        default_factory=list, description="AWS STS endpoints the IRSA roles call (the VPC's interface endpoints)"
    )
    client_cidrs: list[Cidr] = Field(
        default_factory=lambda: ["0.0.0.0/0"], min_length=1, description="who may reach the edge gateway"
    )
    dns: DnsConfig = DnsConfig()
    load_balancer_services: list[str] = Field(
        default_factory=list, description="'namespace/name' of Services allowed to be type LoadBalancer"
    )
    node_port_services: list[str] = Field(
        default_factory=list, description="'namespace/name' of Services allowed to be type NodePort"
    )

    @field_validator("kubernetes_api_cidrs", "node_cidrs", "object_store_cidrs", "aws_api_cidrs", "client_cidrs")
    @classmethod
    def _ipv4_only(cls, value: list[str]) -> list[str]:
        # the connectivity proof (network-config-analyzer) covers IPv4 address ranges
        bad = [cidr for cidr in value if ipaddress.ip_network(cidr).version != 4]
        if bad:
            raise ValueError(f"expected IPv4 CIDR blocks, got {bad}")
        return value

    @field_validator("kubernetes_api_ports")
    @classmethod
    def _ports_in_range(cls, value: list[int]) -> list[int]:
        bad = [port for port in value if not 1 <= port <= 65535]
        if bad:
            raise ValueError(f"ports must be 1-65535, got {bad}")
        return value

    @field_validator("load_balancer_services", "node_port_services")
    @classmethod
    def _service_refs(cls, value: list[str]) -> list[str]:
        bad = [ref for ref in value if not _SERVICE_REF_RE.match(ref)]
        if bad:
            raise ValueError(f"expected 'namespace/name' Service references, got {bad}")
        return value
