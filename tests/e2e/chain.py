"""Test stacks of the promotion chain, derived from the real stack files by settings only.

Every change is a stage setting (docs/real-control-plane.md, "Substitutions"); the program is the same
one a real alpha or staging runs, nothing branches on a stage name:

* chart releases -> `substitutions.chartReleases: crds-only` (charts cannot be fetched here);
* AWS -> no `aws` section and `backup.store: in-cluster` (`objectLockDays: 0`): backups go to the
  in-cluster object store the `local` stage uses (its image pinned by a test digest); without an AWS
  account the program creates no bucket, IRSA role or log snapshot repository, so no AWS provider
  plugin is needed;
* placeholder digests -> each image listed in `images.placeholderDigests` gets a test digest
  (`test_digest`, visibly not a registry's) and the list is emptied: kwok never pulls an image;
* `promotion.requiredOperators: []`: the ephemeral cluster has no metrics-server or EBS CSI driver.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml

from components.release import with_digest

PROJECT = "workflow-platform"
#: The object store image of the `local` stage, pinned by a test digest for stages that require digests.
OBJECT_STORE_IMAGE = "docker.io/versity/versitygw:v1.0.16"


def test_digest(purpose: str) -> str:
    """A syntactically valid digest that names what it stands for (sha256 of a sentence, no registry has it)."""
    return "sha256:" + hashlib.sha256(f"wfdeploy e2e test digest: {purpose}".encode()).hexdigest()


def derived_config(config: dict[str, Any]) -> dict[str, Any]:
    """The stack file's `config` mapping with the test-stack settings above."""
    result = {key: value for key, value in config.items() if key != f"{PROJECT}:aws"}
    images = dict(result[f"{PROJECT}:images"])
    for key in images.pop("placeholderDigests", []):
        images[key] = with_digest(images[key], test_digest(f"images.{key}"))
    images["placeholderDigests"] = []
    images["backupObjectStore"] = with_digest(OBJECT_STORE_IMAGE, test_digest("images.backupObjectStore"))
    result[f"{PROJECT}:images"] = images
    backup = {key: value for key, value in result[f"{PROJECT}:backup"].items() if key != "bucket"}
    # the in-cluster object store has no Object Lock (the schema refuses a lock for it)
    result[f"{PROJECT}:backup"] = {**backup, "store": "in-cluster", "objectLockDays": 0}
    result[f"{PROJECT}:promotion"] = {**result[f"{PROJECT}:promotion"], "requiredOperators": []}
    result[f"{PROJECT}:substitutions"] = {"chartReleases": "crds-only"}
    return result


def derive_stack_file(path: Path) -> None:
    """Rewrite a (copied) stack file as its test stack; comments are lost, values are kept."""
    document = yaml.safe_load(path.read_text())
    document["config"] = derived_config(document["config"])
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def release_image(image: str, purpose: str) -> str:
    """`image`'s repository and tag pinned to a test digest: a second release of the same service."""
    return with_digest(image, test_digest(purpose))


def joined_kubeconfig(path: Path, clusters: dict[str, Path]) -> Path:
    """One kubeconfig whose context `name` reaches the cluster of `clusters[name]` (a `cluster up` folder).

    Each `cluster up` kubeconfig names its cluster and user alike, so merging them through a KUBECONFIG
    list would send every context to the first; here each keeps its own server, CA and client certificate.
    """
    document: dict[str, Any] = {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": []}
    for index, (context, directory) in enumerate(clusters.items()):
        source = yaml.safe_load((directory / "admin.kubeconfig").read_text())
        document["clusters"].append({**source["clusters"][0], "name": f"ephemeral-{index}"})
        document["users"].append({**source["users"][0], "name": f"admin-{index}"})
        reach = {"cluster": f"ephemeral-{index}", "user": f"admin-{index}"}
        document["contexts"].append({"name": context, "context": reach})
    document["current-context"] = next(iter(clusters))
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    path.chmod(0o600)
    return path
