"""Entry point the Pulumi CLI runs for `--policy-pack policies`: builds and serves the PolicyPack.

Constructing a PolicyPack starts the policy server and never returns, so
nothing imports this file; the policies live in `workflow_policies.rules`.
"""

from pulumi_policy import EnforcementLevel, PolicyPack

from workflow_policies.rules import build_policies

PolicyPack(
    name="workflow-platform",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=build_policies(),
)
