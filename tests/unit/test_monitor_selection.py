"""Prometheus' selectors against every monitor and rule the alerts rely on, with the labels the charts render."""

from __future__ import annotations

import copy

import pytest

from components.monitoring.chart_monitors import chart_monitors
from tests.stagehelpers import STAGES
from wfdeploy.render.gates.monitors import SelectorError, monitoring_release, selection_failures, selects


def release_of(synthesis):
    release = monitoring_release(synthesis)
    assert release is not None
    return release.inputs["values"], release.inputs["namespace"]


@pytest.mark.parametrize("stage", STAGES)
def test_every_relied_on_monitor_and_rule_is_selected(synthesized, stage):
    synthesis = synthesized(stage)
    values, namespace = release_of(synthesis)
    assert selection_failures(values, namespace, synthesis.kubernetes_objects()) == []


@pytest.mark.parametrize("stage", STAGES)
def test_the_subcharts_monitors_are_among_those_checked(synthesized, stage):
    values, namespace = release_of(synthesized(stage))
    names = {monitor.name for monitor in chart_monitors(values, namespace)}
    assert {"kube-state-metrics", "grafana", "monitoring-kubelet"} <= names


@pytest.mark.parametrize(
    "subchart,path",
    [
        ("kube-state-metrics", ("kube-state-metrics", "prometheus", "monitor", "additionalLabels")),
        ("grafana", ("grafana", "serviceMonitor", "labels")),
        ("prometheus-node-exporter", ("prometheus-node-exporter", "prometheus", "monitor", "additionalLabels")),
    ],
)
def test_a_subchart_monitor_relying_on_common_labels_alone_is_reported(synthesized, subchart, path):
    synthesis = synthesized("production")
    values, namespace = release_of(synthesis)
    values = copy.deepcopy(values)
    node = values
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]  # commonLabels stay: they do not reach a subchart
    failures = selection_failures(values, namespace, synthesis.kubernetes_objects())
    assert [failure.subject for failure in failures] == [f"ServiceMonitor {node_namespace(values, subchart, namespace)}/{subchart} (chart)"]
    assert "do not match prometheusSpec.serviceMonitorSelector" in failures[0].problem


def node_namespace(values, subchart, default):
    return (values.get(subchart) or {}).get("namespaceOverride") or default


def test_a_platform_monitor_outside_the_watched_namespaces_is_reported(synthesized):
    synthesis = synthesized("production")
    values, namespace = release_of(synthesis)
    objects = copy.deepcopy(synthesis.kubernetes_objects())
    monitor = next(obj for obj in objects if obj["kind"] == "ServiceMonitor")
    monitor["metadata"]["namespace"] = "workflow"
    failures = selection_failures(values, namespace, objects)
    assert [f.subject for f in failures] == [f"ServiceMonitor workflow/{monitor['metadata']['name']}"]
    assert "outside prometheusSpec.serviceMonitorNamespaceSelector" in failures[0].problem


def test_a_selector_left_to_the_chart_is_reported(synthesized):
    synthesis = synthesized("production")
    values, namespace = release_of(synthesis)
    values = copy.deepcopy(values)
    values["prometheus"]["prometheusSpec"]["ruleSelectorNilUsesHelmValues"] = True
    failures = selection_failures(values, namespace, synthesis.kubernetes_objects())
    assert failures and all(f.subject.startswith("PrometheusRule ") for f in failures)


def test_label_selector_semantics():
    labels = {"a": "1", "b": "2"}
    assert selects({}, labels) and not selects(None, labels)
    assert selects({"matchLabels": {"a": "1"}}, labels) and not selects({"matchLabels": {"a": "2"}}, labels)
    assert selects({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "3"]}]}, labels)
    assert not selects({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, labels)
    assert selects({"matchExpressions": [{"key": "c", "operator": "DoesNotExist"}]}, labels)
    assert not selects({"matchExpressions": [{"key": "c", "operator": "Exists"}]}, labels)
    with pytest.raises(SelectorError, match="unknown selector operator 'Gt'"):
        selects({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["0"]}]}, labels)
