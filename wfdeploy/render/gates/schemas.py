"""Schema gates: core objects against Kubernetes' strict schemas, custom resources against the pinned CRDs (CEL included)."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources

import jsonschema
import kubernetes_validate
from referencing import Registry, Resource

from wfdeploy.paths import CRDS_ENV, crd_dir
from wfdeploy.render.context import GateFailure, RenderContext, object_name
from wfdeploy.render.gates.crd_validation import load_crds, validate

#: API groups built into Kubernetes; every other group is a custom resource and needs a CRD schema.
CORE_GROUPS = frozenset(
    {
        "", "apps", "batch", "autoscaling", "policy", "networking.k8s.io", "rbac.authorization.k8s.io",
        "storage.k8s.io", "scheduling.k8s.io", "coordination.k8s.io", "admissionregistration.k8s.io",
        "apiextensions.k8s.io", "certificates.k8s.io", "discovery.k8s.io", "node.k8s.io",
    }
)


def is_core(api_version: str) -> bool:
    return api_version.rpartition("/")[0] in CORE_GROUPS


_SCHEMA_ROOT = resources.files(kubernetes_validate) / "kubernetes-json-schema"


@lru_cache(maxsize=None)
def _strict_registry(version: str) -> Registry:
    """The shared definitions of one Kubernetes version's strict schemas, loaded once."""
    definitions = json.loads((_SCHEMA_ROOT / f"v{version}-local-strict" / "_definitions.json").read_text())
    return Resource.from_contents(definitions) @ Registry()


@lru_cache(maxsize=None)
def _kubernetes_validator(version: str, api_version: str, kind: str) -> jsonschema.Draft202012Validator | None:
    """kubernetes-validate's strict schema for one kind, compiled once (it reloads them on every call)."""
    # rbac.authorization.k8s.io/v1 -> rbac-v1, as kubernetes-validate names its files
    file_api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    path = _SCHEMA_ROOT / f"v{version}-local-strict" / f"{kind.lower()}-{file_api}.json"
    if not path.is_file():
        return None
    schema = json.loads(path.read_text())
    return jsonschema.Draft202012Validator(schema, registry=Resource.from_contents(schema) @ _strict_registry(version))


def kubernetes_schema(context: RenderContext) -> list[GateFailure]:
    version = f"{context.stage.config.cluster.kubernetes_version}.0"
    failures = []
    for obj in context.synthesis.kubernetes_objects():
        if not is_core(obj.get("apiVersion", "")):
            continue
        validator = _kubernetes_validator(version, obj["apiVersion"], obj.get("kind", ""))
        if validator is None:
            failures.append(GateFailure(object_name(obj), f"{obj['apiVersion']} is not served by Kubernetes {version}"))
            continue
        error = jsonschema.exceptions.best_match(validator.iter_errors(obj))
        if error is not None:
            where = "/".join(str(part) for part in error.absolute_path) or "(root)"
            failures.append(GateFailure(object_name(obj), f"invalid for Kubernetes {version} at {where}: {error.message}"))
    return failures


def crd_schema(context: RenderContext) -> list[GateFailure]:
    """Each custom resource as the pinned CRD's API server would take it: defaults, structural schema, CEL rules."""
    folder = crd_dir()
    crds = load_crds(folder)
    failures = []
    for obj in context.synthesis.kubernetes_objects():
        api_version = obj.get("apiVersion", "")
        if is_core(api_version):
            continue
        crd = crds.get((api_version, obj.get("kind", "")))
        if crd is None:
            failures.append(
                GateFailure(object_name(obj), f"no pinned CRD serves {api_version} {obj.get('kind')} under {folder} "
                                              f"(set {CRDS_ENV} to a folder of CRD manifests)")
            )
            continue
        problems = validate(crd, obj)
        if problems:
            failures.append(GateFailure(object_name(obj), f"refused by the pinned {crd.source.name} ({api_version} {crd.kind}) "
                                                          f"{problems[0]}" + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else "")))
    return failures
