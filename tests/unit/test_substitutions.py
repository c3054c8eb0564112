"""`substitutions.chartReleases: crds-only` leaves every chart release out and nothing else (docs/real-control-plane.md)."""

from __future__ import annotations

import pytest

from components.config import ConfigError
from tests.stagehelpers import find_object, load_stage_with
from wfdeploy.render.synth import synthesize

CRDS_ONLY = {"workflow-platform:substitutions": {"chartReleases": "crds-only"}}
#: a chart release is a helm.v4.Chart, or a helm.v3.Release where the chart needs its hooks (charts/charts.yaml)
RELEASE_TYPES = ("kubernetes:helm.sh/v4:Chart", "kubernetes:helm.sh/v3:Release")


def chart_releases(synthesis):
    return [resource for kind in RELEASE_TYPES for resource in synthesis.of_type(kind)]


@pytest.fixture(scope="module")
def substituted():
    return synthesize(load_stage_with("local", CRDS_ONLY))


def test_crds_only_declares_no_chart_release_but_keeps_each_as_an_ordering_point(substituted, synthesized):
    installed = synthesized("local")
    assert chart_releases(substituted) == []
    placeholders = substituted.of_type("wf:charts:CrdsOnlyRelease")
    assert sorted(r.name for r in placeholders) == sorted(r.name for r in chart_releases(installed))


def test_crds_only_changes_no_object_but_the_operator_served_services_awaits(substituted, synthesized):
    def by_key(synthesis):
        return {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in synthesis.kubernetes_objects()}

    installed, swapped = by_key(synthesized("local")), by_key(substituted)
    assert installed.keys() == swapped.keys()
    changed = sorted(key[2] for key in installed if installed[key] != swapped[key])
    assert changed == ["workflow-db-metrics", "workflow-db-pooler-metrics"]
    service = find_object(substituted, "Service", "workflow-db-metrics")
    assert service["metadata"]["annotations"] == {"pulumi.com/skipAwait": "true"}


def test_charts_are_installed_by_default(synthesized):
    assert len(chart_releases(synthesized("local"))) == 4


def test_an_unknown_substitution_value_names_the_key_and_the_choices():
    with pytest.raises(ConfigError) as error:
        load_stage_with("local", {"workflow-platform:substitutions": {"chartReleases": "skip"}})
    assert "workflow-platform:substitutions.chartReleases" in str(error.value)
    assert "'install' or 'crds-only'" in str(error.value)
