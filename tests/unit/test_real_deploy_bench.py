"""The deploy benchmark's arithmetic and its kubectl waits: what it compares must match what Pulumi waits for."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from tests.stagehelpers import PROJECT_ROOT

_SPEC = importlib.util.spec_from_file_location("real_deploy_bench", PROJECT_ROOT / "benchmarks" / "real_deploy_bench.py")
bench = importlib.util.module_from_spec(_SPEC)
sys.modules.setdefault(_SPEC.name, bench)  # its dataclasses look their module up there
_SPEC.loader.exec_module(bench)


def _obj(kind: str, name: str = "x", spec: dict | None = None, annotations: dict | None = None) -> dict:
    metadata = {"name": name, "namespace": "ns", **({"annotations": annotations} if annotations else {})}
    return {"kind": kind, "metadata": metadata, "spec": spec or {}}


def test_kubectl_waits_for_every_kind_the_provider_awaits():
    waits = bench.kubectl_waits([
        _obj("Deployment", "web"), _obj("StatefulSet", "cache"), _obj("Job", "setup"),
        _obj("PersistentVolumeClaim", "data"), _obj("Service", "web", {"selector": {"app": "web"}}),
    ])
    assert waits == [
        ["kubectl", "rollout", "status", "deployment/web", "-n", "ns", "--timeout=300s"],
        ["kubectl", "rollout", "status", "statefulset/cache", "-n", "ns", "--timeout=300s"],
        ["kubectl", "wait", "--for=condition=Complete", "job/setup", "-n", "ns", "--timeout=300s"],
        ["kubectl", "wait", "--for=jsonpath={.status.phase}=Bound", "persistentvolumeclaim/data", "-n", "ns", "--timeout=300s"],
        ["kubectl", "wait", "--for=jsonpath={.subsets[*].addresses[*].ip}", "endpoints/web", "-n", "ns", "--timeout=300s"],
    ]


@pytest.mark.parametrize("obj", [
    _obj("Service", "headless", {"selector": {"app": "a"}, "clusterIP": "None"}),
    _obj("Service", "no-selector", {"ports": [{"port": 80}]}),
    _obj("Service", "external", {"selector": {"app": "a"}, "type": "ExternalName"}),
    _obj("Service", "skipped", {"selector": {"app": "a"}}, {"pulumi.com/skipAwait": "true"}),
    _obj("Deployment", "skipped", annotations={"pulumi.com/skipAwait": "true"}),
    _obj("ConfigMap"), _obj("CronJob"), _obj("NetworkPolicy"),
], ids=lambda obj: f"{obj['kind']}-{obj['metadata']['name']}")
def test_kubectl_does_not_wait_for_what_the_provider_does_not_await(obj):
    assert bench.kubectl_waits([obj]) == []


def test_a_skip_await_annotation_other_than_true_still_waits():
    assert len(bench.kubectl_waits([_obj("Deployment", annotations={"pulumi.com/skipAwait": "false"})])) == 1


def test_covered_counts_overlapping_spans_once():
    assert bench.covered([(0, 10), (2, 3), (9, 12), (20, 21)]) == 13
    assert bench.covered([]) == 0


def test_only_in_first_is_the_time_nothing_of_the_second_overlaps():
    # waits 0-10; other steps 0-2 and 9-11: only 2-9 is waiting alone
    assert bench.only_in_first([(0, 10)], [(0, 2), (9, 11)]) == 7


def test_in_flight_reports_the_peak_and_the_time_at_the_limit():
    spans = [(0, 4), (1, 3), (2, 5)]  # three open during 2-3
    assert bench.in_flight(spans, 3) == (3, 1)
    assert bench.in_flight(spans, 2) == (3, 3)  # two or more during 1-4
    assert bench.in_flight(spans, 4) == (3, 0)


def test_steps_pair_each_pre_event_with_its_outputs():
    timeline = {"events": [
        [1.0, "resource_pre_event", "create", "kubernetes:core/v1:Service", "urn:pulumi:s::p::kubernetes:core/v1:Service::web"],
        [1.5, "resource_pre_event", "create", "kubernetes:apps/v1:Deployment", "urn:pulumi:s::p::kubernetes:apps/v1:Deployment::web"],
        [2.0, "res_outputs_event", "create", "kubernetes:apps/v1:Deployment", "urn:pulumi:s::p::kubernetes:apps/v1:Deployment::web"],
        [11.0, "res_outputs_event", "create", "kubernetes:core/v1:Service", "urn:pulumi:s::p::kubernetes:core/v1:Service::web"],
    ]}
    steps = {(step.kind, step.name): step.end - step.start for step in bench.steps_of(timeline)}
    assert steps == {("Deployment", "web"): 0.5, ("Service", "web"): 10.0}
