"""Network policies of every owned namespace, generated from the flows table in `flows.py`."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.kube import child

from .flows import Flow
from .policies import network_policies


@dataclass(frozen=True)
class NetworkPoliciesArgs:
    namespaces: list[str]
    flows: list[Flow]


class NetworkPolicies(pulumi.ComponentResource):
    """Default deny in each owned namespace, then an allow policy per workload that has flows."""

    policy_names: pulumi.Output[list[str]]

    def __init__(self, name: str, args: NetworkPoliciesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("wf:network:NetworkPolicies", name, None, opts)
        names = []
        for manifest in network_policies(args.flows, args.namespaces):
            metadata = manifest["metadata"]
            qualified = f"{metadata['namespace']}/{metadata['name']}"
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{metadata['namespace']}-{metadata['name']}",
                metadata=metadata,
                spec=manifest["spec"],
                opts=child(self),
            )
            names.append(qualified)
        self.policy_names = pulumi.Output.from_input(names)
        self.register_outputs({"policy_names": self.policy_names})
