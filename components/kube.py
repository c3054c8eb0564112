"""Small Kubernetes building blocks shared by every component.

Kept here so that each secure default (Pod Security `restricted`, labels) is
written once and every workload gets the same one.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.config.types import is_digest_pinned
from components.facts import PART_OF, selector_labels, standard_labels  # noqa: F401  (the label scheme lives with the facts)


def restricted_pod_security_context(run_as_user: int = 10001) -> dict[str, Any]:
    """Pod-level settings that satisfy Pod Security Standards `restricted`."""
    return {
        "runAsNonRoot": True,
        "runAsUser": run_as_user,
        "runAsGroup": run_as_user,
        "fsGroup": run_as_user,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def restricted_container_security_context() -> dict[str, Any]:
    """Container-level settings that satisfy Pod Security Standards `restricted`."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def restricted_namespace(
    resource_name: str, namespace: str, component: str, opts: pulumi.ResourceOptions
) -> k8s.core.v1.Namespace:
    """A namespace that enforces Pod Security Standards `restricted` on everything in it."""
    labels = {
        **standard_labels(namespace, component),
        "kubernetes.io/metadata.name": namespace,
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
    }
    return k8s.core.v1.Namespace(resource_name, metadata={"name": namespace, "labels": labels}, opts=opts)


def child(parent: pulumi.Resource, **kwargs: Any) -> pulumi.ResourceOptions:
    """Options for a component's child resource."""
    return pulumi.ResourceOptions(parent=parent, **kwargs)


#: Why a workload may take a credential as an environment variable (checkov CKV_K8S_35).
SECRET_ENV_REASON = (
    "the image's contract reads this credential from an environment variable; "
    "the value is a secretKeyRef to a generated Secret, never a literal"
)


def checkov_skips(reasons: dict[str, str]) -> dict[str, str]:
    """Inline checkov skip annotations: {'CKV_K8S_35': 'why'} -> {'checkov.io/skip1': 'CKV_K8S_35=why'}."""
    return {f"checkov.io/skip{index}": f"{check}={reason}" for index, (check, reason) in enumerate(sorted(reasons.items()), 1)}


def tag_only_image_reasons(*images: str) -> dict[str, str]:
    """Skip reasons for a tag-only image, which a stage may run only with `images.allowTags` (a laptop cluster)."""
    if all(is_digest_pinned(image) for image in images):
        return {}
    why = "images.allowTags: this stage runs tag-only images (a laptop cluster); digest-pinned stages never do"
    return {
        "CKV_K8S_43": why,
        "CKV_K8S_15": f"{why}; locally loaded images cannot be pulled, so IfNotPresent",
    }
