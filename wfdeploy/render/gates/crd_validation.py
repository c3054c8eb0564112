"""Custom resources against the pinned upstream CRDs, as an API server with those CRDs installed would check them.

The CRDs (../shared/crds: plain `apiextensions.k8s.io/v1` manifests, exactly
as each project ships them at the pinned version) are read as they are:
schema defaults are applied first, then the structural schema is checked
(unknown fields refused, as with strict field validation), then every
`x-kubernetes-validations` CEL rule is evaluated with cel-python. Transition
rules (those reading `oldSelf`) apply to updates only and are not evaluated
on create, as on a real server. A rule that cannot be evaluated (an unknown
function, a missing field read without `has()`) fails the object: it never passes silently.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import celpy
import jsonschema
import yaml
from celpy import celtypes
from celpy.evaluation import CELEvalError

from wfdeploy.paths import cache_dir


class _CrdLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """SafeLoader that reads a bare `=` (an enum value in some CRDs) as the string it is, not YAML's value tag."""


_CrdLoader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


@dataclass(frozen=True)
class CrdVersion:
    group: str
    kind: str
    version: str
    served: bool
    schema: dict[str, Any]
    source: Path


def _parse_crds(files: list[tuple[Path, bytes]]) -> dict[tuple[str, str], CrdVersion]:
    found: dict[tuple[str, str], CrdVersion] = {}
    for path, text in files:
        for document in yaml.load_all(text.decode(), Loader=_CrdLoader):
            if not isinstance(document, dict) or document.get("kind") != "CustomResourceDefinition":
                continue
            spec = document["spec"]
            for version in spec.get("versions") or []:
                schema = ((version.get("schema") or {}).get("openAPIV3Schema")) or {}
                entry = CrdVersion(spec["group"], spec["names"]["kind"], version["name"], bool(version.get("served")), schema, path)
                found[(f"{spec['group']}/{version['name']}", spec["names"]["kind"])] = entry
    return found


def _as_json(crds: dict[tuple[str, str], CrdVersion]) -> str | None:
    """The parsed CRDs as JSON, or None where JSON cannot hold them exactly (then they are not cached)."""
    rows = [[list(key), crd.group, crd.kind, crd.version, crd.served, crd.schema, str(crd.source)] for key, crd in crds.items()]
    try:
        text = json.dumps(rows)
    except (TypeError, ValueError):
        return None
    return text if json.loads(text) == rows else None


def _from_json(text: str) -> dict[tuple[str, str], CrdVersion]:
    return {
        (key[0], key[1]): CrdVersion(group, kind, version, served, schema, Path(source))
        for key, group, kind, version, served, schema, source in json.loads(text)
    }


@lru_cache(maxsize=8)
def load_crds(crd_dir: Path) -> dict[tuple[str, str], CrdVersion]:
    """Every CRD version under the folder, keyed by (apiVersion, kind).

    Parsing the ~10 MB of YAML takes about a second in every process that renders; the result is
    kept in the cache folder under the digest of the files' paths and contents, so an edit is never missed.
    """
    files = [(path, path.read_bytes()) for path in sorted(crd_dir.rglob("*.yaml"))]
    digest = hashlib.sha256()
    for path, text in files:
        digest.update(str(path).encode() + b"\0" + hashlib.sha256(text).digest())
    cached = cache_dir() / "crds" / f"{digest.hexdigest()}.json"
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
        return _from_json(cached.read_text())
    found = _parse_crds(files)
    text = _as_json(found)
    if text is not None:
        with contextlib.suppress(OSError):  # a cache that cannot be written only costs time
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_name(f".{cached.name}.{os.getpid()}")
            partial.write_text(text)
            partial.replace(cached)
    return found


# -- defaulting -------------------------------------------------------------------------------


def apply_defaults(schema: dict[str, Any], value: Any) -> Any:
    """The object as the API server stores it: every missing field with a schema `default` filled in."""
    if isinstance(value, dict):
        result = dict(value)
        for key, sub in (schema.get("properties") or {}).items():
            if key not in result and "default" in sub:
                result[key] = copy.deepcopy(sub["default"])
            if key in result:
                result[key] = apply_defaults(sub, result[key])
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key in result:
                if key not in (schema.get("properties") or {}):
                    result[key] = apply_defaults(extra, result[key])
        return result
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [apply_defaults(schema["items"], item) for item in value]
    return value


# -- structural schema ------------------------------------------------------------------------

_OPENAPI_ONLY = ("x-kubernetes-validations", "default", "example", "externalDocs")


def to_json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI v3 structural schema as JSON Schema; objects refuse fields they do not declare."""
    result: dict[str, Any] = {key: value for key, value in schema.items() if not key.startswith("x-") and key not in _OPENAPI_ONLY}
    if schema.get("x-kubernetes-int-or-string"):
        result.pop("type", None)
        result["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if schema.get("nullable") and "type" in result:
        result["type"] = [result["type"], "null"]
    result.pop("nullable", None)
    if "properties" in schema:
        result["properties"] = {key: to_json_schema(sub) for key, sub in schema["properties"].items()}
    if isinstance(schema.get("items"), dict):
        result["items"] = to_json_schema(schema["items"])
    if isinstance(schema.get("additionalProperties"), dict):
        result["additionalProperties"] = to_json_schema(schema["additionalProperties"])
    for combinator in ("allOf", "anyOf", "oneOf"):
        if combinator in schema:
            result[combinator] = [to_json_schema(sub) for sub in schema[combinator]]
    if "not" in schema:
        result["not"] = to_json_schema(schema["not"])
    is_object = schema.get("type") == "object"
    if is_object and "properties" in schema and "additionalProperties" not in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
        allowed = dict(result["properties"])
        if schema.get("x-kubernetes-embedded-resource"):
            # an embedded object carries its own apiVersion, kind and metadata
            for key in ("apiVersion", "kind", "metadata"):
                allowed.setdefault(key, {})
        result["properties"] = allowed
        result["additionalProperties"] = False
    return result


_VALIDATORS: dict[tuple[str, str, str, str], jsonschema.Draft7Validator] = {}


def structural_errors(crd: CrdVersion, obj: dict[str, Any]) -> list[str]:
    """Schema errors, shallowest first, each with where it is."""
    key = (str(crd.source), crd.group, crd.version, crd.kind)
    if key not in _VALIDATORS:
        _VALIDATORS[key] = jsonschema.Draft7Validator(to_json_schema(crd.schema))
    messages = []
    for error in sorted(_VALIDATORS[key].iter_errors(obj), key=lambda e: (len(e.absolute_path), str(e.message))):
        where = "/".join(str(part) for part in error.absolute_path) or "(root)"
        messages.append(f"at {where}: {error.message}")
    return messages


# -- CEL --------------------------------------------------------------------------------------


def _split(text: celtypes.StringType, separator: celtypes.StringType) -> celtypes.ListType:
    """Kubernetes' strings library: `'a,b'.split(',')`."""
    return celtypes.ListType([celtypes.StringType(part) for part in str(text).split(str(separator))])


def _lower_ascii(text: celtypes.StringType) -> celtypes.StringType:
    return celtypes.StringType(str(text).lower())


def _upper_ascii(text: celtypes.StringType) -> celtypes.StringType:
    return celtypes.StringType(str(text).upper())


def _trim(text: celtypes.StringType) -> celtypes.StringType:
    return celtypes.StringType(str(text).strip())


#: Kubernetes CEL extension functions the pinned CRDs' rules call, beyond standard CEL (which cel-python has).
KUBERNETES_FUNCTIONS = {"split": _split, "lowerAscii": _lower_ascii, "upperAscii": _upper_ascii, "trim": _trim}

_ENVIRONMENT = celpy.Environment()


@lru_cache(maxsize=None)
def compile_rule(rule: str):
    """The rule compiled once, with the Kubernetes extension functions bound."""
    return _ENVIRONMENT.program(_ENVIRONMENT.compile(rule), functions=KUBERNETES_FUNCTIONS)


def is_transition_rule(rule: dict[str, Any]) -> bool:
    return re.search(r"\boldSelf\b", rule["rule"]) is not None


def evaluate_rule(rule: str, value: Any) -> bool | str:
    """True/False, or the reason the rule could not be evaluated."""
    try:
        result = compile_rule(rule).evaluate({"self": celpy.json_to_cel(value)})
    except Exception as error:  # cel-python raises parse, type and evaluation errors of many kinds
        return f"{type(error).__name__}: {error}"
    if isinstance(result, CELEvalError):
        return f"CELEvalError: {result}"
    if not isinstance(result, celtypes.BoolType):
        return f"the rule returned {type(result).__name__}, not a bool"
    return bool(result)


def rule_failures(schema: dict[str, Any], value: Any, path: str = "") -> Iterator[str]:
    """Each CEL rule of the schema that the value breaks or that cannot be evaluated, with where and why."""
    where = path or "(root)"
    for rule in schema.get("x-kubernetes-validations") or []:
        if is_transition_rule(rule):
            continue
        outcome = evaluate_rule(rule["rule"], value)
        if outcome is True:
            continue
        if outcome is False:
            yield f"at {where}: {rule.get('message') or 'failed rule'} (rule: {rule['rule']})"
        else:
            yield f"at {where}: rule {rule['rule']!r} cannot be evaluated: {outcome}"
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            sub = properties.get(key, extra if isinstance(extra, dict) else None)
            if sub is not None:
                yield from rule_failures(sub, item, f"{path}/{key}" if path else key)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            yield from rule_failures(schema["items"], item, f"{path}[{index}]")


def validate(crd: CrdVersion, obj: dict[str, Any]) -> list[str]:
    """Every problem the API server would report for creating this object (structural first, then CEL)."""
    if not crd.served:
        return [f"{crd.group}/{crd.version} {crd.kind} is not served by the pinned CRD ({crd.source.name})"]
    stored = apply_defaults(crd.schema, obj)
    problems = structural_errors(crd, stored)
    if problems:
        return problems  # the API server stops at schema errors before running CEL
    return list(rule_failures(crd.schema, stored))
