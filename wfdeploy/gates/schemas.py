"""Schema gates: core objects against Kubernetes' strict schemas, custom resources against their CRDs."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import jsonschema
import kubernetes_validate
from kubernetes_validate.utils import SchemaNotFoundError

from wfdeploy.gates import GateFailure, RenderContext, gate, object_name
from wfdeploy.paths import CRD_SCHEMAS_ENV, crd_schema_dir

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


@lru_cache(maxsize=None)
def _crd_validator(path: Path) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(json.loads(path.read_text()))


def crd_schema_path(schema_dir: Path, api_version: str, kind: str) -> Path:
    group, _, version = api_version.rpartition("/")
    return schema_dir / group / f"{kind.lower()}_{version}.json"


def _first_error(errors) -> str:
    error = min(errors, key=lambda e: (len(e.absolute_path), str(e.message)))
    where = "/".join(str(part) for part in error.absolute_path) or "(root)"
    return f"at {where}: {error.message}"


@gate("kubernetes-schema")
def kubernetes_schema(context: RenderContext) -> list[GateFailure]:
    version = f"{context.stage.config.cluster.kubernetes_version}.0"
    failures = []
    for obj in context.synthesis.kubernetes_objects():
        if not is_core(obj.get("apiVersion", "")):
            continue
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = "/".join(str(part) for part in error.path) or "(root)"
            failures.append(GateFailure(object_name(obj), f"invalid for Kubernetes {version} at {where}: {error.message}"))
        except SchemaNotFoundError:
            failures.append(GateFailure(object_name(obj), f"{obj['apiVersion']} is not served by Kubernetes {version}"))
    return failures


@gate("crd-schema")
def crd_schema(context: RenderContext) -> list[GateFailure]:
    schema_dir = crd_schema_dir()
    failures = []
    for obj in context.synthesis.kubernetes_objects():
        api_version = obj.get("apiVersion", "")
        if is_core(api_version):
            continue
        path = crd_schema_path(schema_dir, api_version, obj.get("kind", ""))
        if not path.is_file():
            failures.append(
                GateFailure(object_name(obj), f"no CRD schema at {path} (set {CRD_SCHEMAS_ENV} to a schema catalog)")
            )
            continue
        errors = list(_crd_validator(path).iter_errors(obj))
        if errors:
            failures.append(GateFailure(object_name(obj), f"does not match {api_version} {obj['kind']} {_first_error(errors)}"))
    return failures
