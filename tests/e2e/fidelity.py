"""Comparing an object in the cluster with its rendered manifest: every rendered field, nothing the server added."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from wfdeploy.cluster.api import ApiError


class _Missing:
    def __repr__(self) -> str:
        return "nothing"


_MISSING = _Missing()


def api_path(api, obj: dict[str, Any], plurals: dict[tuple[str, str], str]) -> str:
    """The object's URL path; resource names come from the API server's discovery, as kubectl finds them."""
    group_version, kind = obj["apiVersion"], obj["kind"]
    base = f"/api/{group_version}" if "/" not in group_version else f"/apis/{group_version}"
    if (group_version, kind) not in plurals:
        for resource in api.get(base)["resources"]:
            if "/" not in resource["name"]:
                plurals[(group_version, resource["kind"])] = resource["name"]
    namespace = obj["metadata"].get("namespace")
    where = f"/namespaces/{namespace}" if namespace else ""
    return f"{base}{where}/{plurals[(group_version, kind)]}/{obj['metadata']['name']}"


REDACTED = "<redacted>"


def differences(wanted: Any, live: Any, path: str = "") -> list[str]:
    """Fields of `wanted` that `live` lacks or holds differently (fields only the server set are ignored)."""
    if wanted == REDACTED:
        return []  # offline synthesis never knows a generated secret
    if wanted in ([], {}) and live is _MISSING:
        return []  # the API server stores an empty list or map as an absent field
    if isinstance(wanted, dict):
        if not isinstance(live, dict):
            return [f"{path or '.'}: expected an object, the cluster has {live!r}"]
        return [problem for key, value in wanted.items() for problem in differences(value, live.get(key, _MISSING), f"{path}.{key}")]
    if isinstance(wanted, list):
        if not isinstance(live, list) or len(live) != len(wanted):
            return [f"{path}: expected {len(wanted)} item(s), the cluster has {live!r}"[:300]]
        return [problem for index, (w, l) in enumerate(zip(wanted, live)) for problem in differences(w, l, f"{path}[{index}]")]
    if live is _MISSING:
        return [f"{path}: missing in the cluster (expected {wanted!r})"]
    both_numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (wanted, live))
    if (float(wanted) != float(live)) if both_numbers else (wanted != live):
        return [f"{path}: rendered {wanted!r}, the cluster has {live!r}"]
    return []



def _comparable(wanted: dict[str, Any]) -> dict[str, Any]:
    """A rendered object as far as it can be compared: a Secret's values are generated or redacted offline."""
    if wanted["kind"] != "Secret":
        return wanted
    return {key: value for key, value in wanted.items() if key not in ("stringData", "data")}


def cluster_differences(api, manifests: Path) -> list[str]:
    """Every object rendered in `manifests` (a build/<stage>/manifests folder) against the cluster `api` serves.

    One line per problem, naming the object (`Kind/name.field: ...`) or the manifest the cluster lacks.
    """
    problems: list[str] = []
    plurals: dict[tuple[str, str], str] = {}
    for manifest in sorted(manifests.rglob("*.yaml")):
        wanted = _comparable(yaml.safe_load(manifest.read_text()))
        try:
            live = api.get(api_path(api, wanted, plurals))
        except ApiError as error:
            problems.append(f"{manifest.relative_to(manifests.parents[1])}: {error}")  # <stage>/manifests/…
            continue
        problems += [f"{wanted['kind']}/{wanted['metadata']['name']}{field}" for field in differences(wanted, live)]
    return problems
