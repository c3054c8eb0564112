"""Custom resources against the pinned upstream CRDs: defaults, structural schema and CEL rules, as an API server."""

from __future__ import annotations

import copy
import re

import pytest

from tests.stagehelpers import STAGES
from wfdeploy.render.gates.crd_validation import (
    KUBERNETES_FUNCTIONS,
    CrdVersion,
    apply_defaults,
    compile_rule,
    load_crds,
    rule_failures,
    validate,
)
from wfdeploy.paths import crd_dir
from wfdeploy.render.gates.schemas import is_core


@pytest.fixture(scope="module")
def crds():
    return load_crds(crd_dir())


def crd(crds, api_version, kind) -> CrdVersion:
    return crds[(api_version, kind)]


def route(filters):
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "r", "namespace": "edge"},
        "spec": {"parentRefs": [{"name": "g"}], "rules": [{"filters": filters}]},
    }


def schema_with(rule: str, **properties) -> dict:
    return {"type": "object", "properties": properties, "x-kubernetes-validations": [{"rule": rule, "message": "broken"}]}


@pytest.mark.parametrize("stage", STAGES)
def test_every_custom_resource_of_the_stage_is_accepted_by_its_pinned_crd(crds, synthesized, stage):
    custom = [obj for obj in synthesized(stage).kubernetes_objects() if not is_core(obj["apiVersion"])]
    assert custom
    for obj in custom:
        assert validate(crd(crds, obj["apiVersion"], obj["kind"]), obj) == [], obj["metadata"]


def test_the_pinned_crds_are_read_with_their_cel_rules(crds):
    groups = {group for (api_version, _kind) in crds for group in [api_version.rpartition("/")[0]]}
    assert {"monitoring.coreos.com", "gateway.networking.k8s.io", "gateway.envoyproxy.io", "cert-manager.io",
            "postgresql.cnpg.io", "elasticsearch.k8s.elastic.co", "beat.k8s.elastic.co"} <= groups
    httproute = crd(crds, "gateway.networking.k8s.io/v1", "HTTPRoute").schema
    assert "x-kubernetes-validations" in str(httproute)


def test_a_cel_rule_the_object_breaks_is_reported_with_its_message(crds):
    problems = validate(crd(crds, "gateway.networking.k8s.io/v1", "HTTPRoute"), route([{"type": "RequestRedirect"}]))
    assert problems == [
        "at spec/rules[0]/filters[0]: filter.requestRedirect must be specified for RequestRedirect filter.type "
        "(rule: !(!has(self.requestRedirect) && self.type == 'RequestRedirect'))"
    ]
    assert validate(crd(crds, "gateway.networking.k8s.io/v1", "HTTPRoute"),
                    route([{"type": "RequestRedirect", "requestRedirect": {"scheme": "https"}}])) == []


def test_a_policy_without_a_target_breaks_the_envoy_gateway_rule(crds):
    policy = {"apiVersion": "gateway.envoyproxy.io/v1alpha1", "kind": "BackendTrafficPolicy",
              "metadata": {"name": "p", "namespace": "edge"}, "spec": {}}
    (problem,) = validate(crd(crds, "gateway.envoyproxy.io/v1alpha1", "BackendTrafficPolicy"), policy)
    assert problem.startswith("at spec: either targetRef or targetRefs must be used")


def test_an_undeclared_field_is_refused_as_with_strict_field_validation(crds, synthesized):
    monitor = copy.deepcopy(next(o for o in synthesized("alpha").kubernetes_objects() if o["kind"] == "ServiceMonitor"))
    monitor["spec"]["endpoints"][0]["honourLabels"] = True
    (problem,) = validate(crd(crds, "monitoring.coreos.com/v1", "ServiceMonitor"), monitor)
    assert problem.startswith("at spec/endpoints/0: Additional properties are not allowed ('honourLabels' was unexpected)")


def test_an_enum_value_outside_the_pinned_crd_is_refused(crds, synthesized):
    certificate = copy.deepcopy(next(o for o in synthesized("production").kubernetes_objects() if o["kind"] == "Certificate"))
    certificate["spec"]["privateKey"]["rotationPolicy"] = "Sometimes"
    (problem,) = validate(crd(crds, "cert-manager.io/v1", "Certificate"), certificate)
    assert "'Sometimes' is not one of ['Never', 'Always']" in problem


def test_a_version_the_pinned_crd_no_longer_serves_is_refused(crds):
    (problem,) = validate(crd(crds, "elasticsearch.k8s.elastic.co/v1alpha1", "Elasticsearch"),
                          {"apiVersion": "elasticsearch.k8s.elastic.co/v1alpha1", "kind": "Elasticsearch", "metadata": {"name": "e"}})
    assert "is not served by the pinned CRD" in problem


def test_a_rule_that_cannot_be_evaluated_fails_instead_of_passing():
    # reading a missing field without has() is an evaluation error on a real server too
    (problem,) = rule_failures(schema_with("self.mode == 'a'", mode={"type": "string"}), {})
    assert "rule \"self.mode == 'a'\" cannot be evaluated" in problem
    (problem,) = rule_failures(schema_with("self.name.isFancy()", name={"type": "string"}), {"name": "x"})
    assert "cannot be evaluated" in problem


def test_transition_rules_are_left_to_updates():
    assert list(rule_failures(schema_with("self.size == oldSelf.size", size={"type": "integer"}), {"size": 1})) == []


def test_rules_see_the_schema_defaults_as_the_server_applies_them():
    schema = schema_with("self.mode == 'safe'", mode={"type": "string", "default": "safe"})
    assert list(rule_failures(schema, apply_defaults(schema, {}))) == []
    assert [p.split(":")[0] for p in rule_failures(schema, apply_defaults(schema, {"mode": "fast"}))] == ["at (root)"]


def test_the_kubernetes_string_extensions_the_pinned_rules_use_are_available():
    schema = schema_with("self.host.split('.').size() == 3", host={"type": "string"})
    assert list(rule_failures(schema, {"host": "a.b.c"})) == []
    assert len(list(rule_failures(schema, {"host": "a.b"}))) == 1


def every_rule(node):
    if isinstance(node, dict):
        yield from (rule["rule"] for rule in node.get("x-kubernetes-validations") or [])
        for value in node.values():
            yield from every_rule(value)
    elif isinstance(node, list):
        for value in node:
            yield from every_rule(value)


def test_every_rule_of_the_pinned_crds_compiles_and_calls_only_known_functions(crds):
    rules = {rule for version in crds.values() for rule in every_rule(version.schema)}
    assert len(rules) > 100
    standard = {"has", "size", "all", "exists", "exists_one", "filter", "map", "matches", "duration", "timestamp",
                "contains", "startsWith", "endsWith", "int", "string", "double", "uint", "type", "bool", "bytes"}
    for rule in rules:
        compile_rule(rule)  # raises on a rule cel-python cannot parse
        called = set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\(", rule))
        assert called <= standard | set(KUBERNETES_FUNCTIONS), (rule, called - standard - set(KUBERNETES_FUNCTIONS))


WIDGET_CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {size: {type: integer, maximum: MAXIMUM}}}
"""


@pytest.fixture
def widget_crds(tmp_path, monkeypatch):
    """A CRD folder of one file and an empty cache folder; load_crds' in-process cache cleared around the test."""
    monkeypatch.setenv("WFDEPLOY_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "crds"
    folder.mkdir()
    (folder / "widgets.yaml").write_text(WIDGET_CRD.replace("MAXIMUM", "3"))
    load_crds.cache_clear()
    yield folder
    load_crds.cache_clear()


def _maximum(crds) -> int:
    return crds[("example.com/v1", "Widget")].schema["properties"]["spec"]["properties"]["size"]["maximum"]


def test_parsed_crds_are_read_back_from_the_cache_exactly_as_parsed(widget_crds, monkeypatch):
    from wfdeploy.render.gates import crd_validation

    parsed = load_crds(widget_crds)
    assert len(list((widget_crds.parent / "cache" / "crds").glob("*.json"))) == 1
    load_crds.cache_clear()
    monkeypatch.setattr(crd_validation, "_parse_crds", lambda files: pytest.fail("parsed again despite the cache"))
    assert load_crds(widget_crds) == parsed and _maximum(parsed) == 3


def test_an_edited_crd_is_parsed_again_never_read_from_a_stale_cache(widget_crds):
    assert _maximum(load_crds(widget_crds)) == 3
    (widget_crds / "widgets.yaml").write_text(WIDGET_CRD.replace("MAXIMUM", "4"))
    load_crds.cache_clear()
    assert _maximum(load_crds(widget_crds)) == 4


def test_a_corrupt_cache_file_is_ignored_and_replaced(widget_crds):
    parsed = load_crds(widget_crds)
    (cached,) = (widget_crds.parent / "cache" / "crds").glob("*.json")
    cached.write_text('[["truncated')
    load_crds.cache_clear()
    assert load_crds(widget_crds) == parsed
    load_crds.cache_clear()
    assert load_crds(widget_crds) == parsed and cached.read_text().startswith('[[["example.com/v1"')
