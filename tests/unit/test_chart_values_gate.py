"""Every values key set for a chart exists in the pinned chart's (or subchart's) default values."""

from __future__ import annotations

import copy

import pytest

from components.charts import pinned_charts
from tests.stagehelpers import STAGES, load_stage_with
from wfdeploy.paths import chart_values_dir
from wfdeploy.render.context import RenderContext
from wfdeploy.render.gates.chart_values import chart_defaults, chart_values, unknown_keys
from wfdeploy.render.synth import Synthesis


def context_with(synthesis, tmp_path, release_name=None, edit=None):
    resources = copy.deepcopy(synthesis.resources)
    for resource in resources:
        if resource.name == release_name and edit is not None:
            edit(resource.inputs["values"])
    return RenderContext(load_stage_with(synthesis.stage), Synthesis(synthesis.stage, resources, {}), tmp_path)


@pytest.mark.parametrize("stage", STAGES)
def test_every_key_the_stage_sets_exists_in_its_chart(synthesized, stage, tmp_path):
    assert chart_values(context_with(synthesized(stage), tmp_path)) == []


@pytest.mark.parametrize(
    "release_name,edit,key",
    [
        ("monitoring-stack", lambda v: v["grafana"].update(persistance={"enabled": True}), "grafana.persistance"),
        ("monitoring-stack", lambda v: v["kube-state-metrics"]["prometheus"]["monitor"].update(additionalLabelz={}),
         "kube-state-metrics.prometheus.monitor.additionalLabelz"),
        ("monitoring-stack", lambda v: v["prometheus"]["prometheusSpec"].update(retentionSise="1GB"), "prometheus.prometheusSpec.retentionSise"),
        ("edge-envoy-gateway", lambda v: v["deployment"].update(replica=2), "deployment.replica"),
        ("logging-eck-operator", lambda v: v.update(managedNamespace=["x"]), "managedNamespace"),
        ("data-operator", lambda v: v["monitoring"].update(podMonitorEnable=True), "monitoring.podMonitorEnable"),
    ],
)
def test_a_typo_in_a_values_key_fails_naming_release_and_key(synthesized, tmp_path, release_name, edit, key):
    (failure,) = chart_values(context_with(synthesized("production"), tmp_path, release_name, edit))
    assert failure.subject.startswith(f"{release_name} (")
    assert f"values key {key!r} does not exist" in failure.problem


def test_keys_inside_a_free_form_map_are_not_checked(synthesized, tmp_path):
    def edit(values):
        values["alertmanager"]["config"]["anything"] = {"goes": True}  # Alertmanager's own file
        values["grafana"]["grafana.ini"]["server"] = {"root_url": "https://x"}
        values["grafana"]["serviceMonitor"]["labels"]["team"] = "a"  # default {}
        values["grafana"]["securityContext"]["supplementalGroups"] = [1]  # a Kubernetes object

    assert chart_values(context_with(synthesized("production"), tmp_path, "monitoring-stack", edit)) == []


def test_a_subchart_key_is_checked_against_the_subcharts_own_defaults():
    pinned = pinned_charts()["kube-prometheus-stack"]
    defaults = chart_defaults(pinned, chart_values_dir())
    # initChownData exists only in grafana's values.yaml, not in kube-prometheus-stack's
    assert "initChownData" in defaults["grafana"]
    assert unknown_keys({"grafana": {"initChownData": {"enabled": False}}}, defaults, "kube-prometheus-stack") == []
    assert unknown_keys({"grafana": {"initChownDate": {}}}, defaults, "kube-prometheus-stack") == ["grafana.initChownDate"]


def test_missing_default_values_are_an_error_naming_the_folder(synthesized, tmp_path, monkeypatch):
    monkeypatch.setenv("WFDEPLOY_CHART_VALUES", str(tmp_path / "empty"))
    failures = chart_values(context_with(synthesized("alpha"), tmp_path))
    assert failures and all("no default values of chart" in f.problem and "WFDEPLOY_CHART_VALUES" in f.problem for f in failures)
