"""Installing the pinned upstream CRDs (../shared/crds) into the control plane."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable

import yaml

from wfdeploy.cluster.api import ApiClient, ApiError
from wfdeploy.paths import PROJECT_ROOT

#: Overrides where the CRD manifests are read from (every *.yaml below it).
CRDS_DIR_ENV = "WFDEPLOY_CRDS"
CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def crds_dir() -> Path:
    configured = os.environ.get(CRDS_DIR_ENV)
    return Path(configured) if configured else PROJECT_ROOT.parent / "shared" / "crds"


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml: 55 CRDs in ~2 s instead of ~20 s
    """SafeLoader that reads a bare `=` (an enum value in some CRDs) as the string it is."""


_Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


def load_crds(directory: Path | None = None) -> list[dict[str, Any]]:
    """Every CustomResourceDefinition below `directory`, sorted by name."""
    directory = directory or crds_dir()
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.rglob("*.yaml")):
        for document in yaml.load_all(path.read_text(), Loader=_Loader):
            if isinstance(document, dict) and document.get("kind") == "CustomResourceDefinition":
                found[document["metadata"]["name"]] = document
    if not found:
        raise FileNotFoundError(f"no CustomResourceDefinition in {directory} (set {CRDS_DIR_ENV} to the CRDs folder)")
    return [found[name] for name in sorted(found)]


def _established(crd: dict[str, Any]) -> bool:
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


def install(api: ApiClient, crds: list[dict[str, Any]], timeout: float, log: Callable[[str], None]) -> list[str]:
    """Server-side apply every CRD, then wait until each is Established; returns their names."""
    for crd in crds:
        api.apply(f"{CRD_PATH}/{crd['metadata']['name']}", crd)
    names = [crd["metadata"]["name"] for crd in crds]
    deadline = time.monotonic() + timeout
    waiting = set(names)
    while waiting:
        listed = api.get(CRD_PATH)["items"]
        waiting -= {item["metadata"]["name"] for item in listed if _established(item)}
        if not waiting:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"CRDs not Established after {timeout:.0f}s: {', '.join(sorted(waiting))}")
        time.sleep(0.5)
    log(f"{len(names)} CRDs installed and Established")
    return names


__all__ = ["ApiError", "crds_dir", "install", "load_crds"]
