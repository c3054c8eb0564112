"""Generated credentials: a pulumi-random password kept only in Kubernetes Secrets."""

from __future__ import annotations

import pulumi
import pulumi_random as random

from components.kube import standard_labels


def generated_password(resource_name: str, opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
    """A 32-character password, marked secret so Pulumi encrypts it in state and redacts it in logs."""
    # alphanumeric only: the value lands in connection strings and Redis config lines unescaped
    password = random.RandomPassword(resource_name, length=32, special=False, opts=opts)
    return pulumi.Output.secret(password.result)


def secret_labels(name: str) -> dict[str, str]:
    return standard_labels(name, "credentials")
