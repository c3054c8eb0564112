"""How pinned charts are installed: a chart whose Helm hooks matter is a helm.v3.Release, the rest helm.v4.Chart."""

from __future__ import annotations

import pytest
import yaml

from components import charts
from components.charts import pinned_charts, release_values
from tests.stagehelpers import STAGES, load_stage_with
from wfdeploy.paths import chart_values_dir

CHART_VALUES = chart_values_dir()

#: Features of the pinned charts that exist only as Helm hooks, with the values that turn them on
#: (read from each chart's templates: `helm.sh/hook` annotations).
HOOK_FEATURES = {
    # templates/certgen.yaml: pre-install/pre-upgrade Job, always rendered (no values switch)
    "envoy-gateway": lambda values: True,
    # templates/startupapicheck-job.yaml: post-install Job
    "cert-manager": lambda values: values.get("startupapicheck", {}).get("enabled", True),
    # templates/prometheus-operator/admission-webhooks/job-patch/*: pre-install Jobs creating the webhook certificate
    "kube-prometheus-stack": lambda values: values["prometheusOperator"]["admissionWebhooks"]["patch"]["enabled"]
    and values["prometheusOperator"]["tls"]["enabled"],
}


def chart_defaults(release: str) -> dict:
    pinned = pinned_charts()[release]
    (path,) = CHART_VALUES.glob(f"{pinned.chart}-{pinned.version}.values*.yaml")
    return yaml.safe_load(path.read_text().replace("${", "{"))


def releases(synthesis):
    return {r.name: r for r in synthesis.resources if r.type.startswith("kubernetes:helm.sh/")}


@pytest.mark.parametrize("release", sorted(HOOK_FEATURES))
def test_a_chart_whose_defaults_rely_on_hooks_is_marked_so(release):
    merged = charts.deep_merge(chart_defaults(release), release_values(release, {}))
    assert HOOK_FEATURES[release](merged), f"{release} no longer needs hooks: drop `hooks: true`"
    assert pinned_charts()[release].hooks is True


def test_charts_without_hooks_stay_helm_v4_charts():
    assert {name for name, pinned in pinned_charts().items() if not pinned.hooks} == {"cloudnative-pg", "eck-operator"}


@pytest.mark.parametrize("stage", STAGES)
def test_charts_with_hooks_are_installed_as_releases_that_run_them(synthesized, stage):
    installed = releases(synthesized(stage))
    assert installed
    for name, resource in installed.items():
        release = next(key for key, pinned in pinned_charts().items() if str(resource.inputs["chart"]).endswith(pinned.chart))
        if pinned_charts()[release].hooks:
            assert resource.type == "kubernetes:helm.sh/v3:Release", name
            # named like helm.v4.Chart names its release, never an auto-name with a random suffix
            assert resource.inputs["name"] == name
            assert resource.inputs["waitForJobs"] is True and resource.inputs["skipAwait"] is False
            assert "disableWebhooks" not in resource.inputs  # `disableWebhooks` is Helm's --no-hooks
        else:
            assert resource.type == "kubernetes:helm.sh/v4:Chart", name


TLS_STAGES = [stage for stage in STAGES if load_stage_with(stage).config.edge.tls.enabled]


def test_some_stage_enables_tls():
    assert TLS_STAGES


@pytest.mark.parametrize("stage", TLS_STAGES)
def test_cert_manager_starts_after_the_gateway_api_crds_and_its_issuer_after_its_webhook(synthesized, stage):
    installed = releases(synthesized(stage))
    assert "edge-envoy-gateway" in installed["edge-cert-manager"].depends_on
    for name in ("edge-issuer", "edge-certificate"):
        (resource,) = [r for r in synthesized(stage).resources if r.name == name]
        assert "edge-cert-manager" in resource.depends_on


@pytest.fixture
def charts_dir(tmp_path, monkeypatch):
    (tmp_path / "values").mkdir()
    monkeypatch.setattr(charts, "CHARTS_DIR", tmp_path)
    pinned_charts.cache_clear()
    yield tmp_path
    pinned_charts.cache_clear()


@pytest.mark.parametrize(
    "entry,message",
    [
        ({"hooks": "yes"}, "chart 'x': hooks must be true or false, got 'yes'"),
        ({"hook": True}, "chart 'x' has unknown keys hook"),
    ],
)
def test_a_bad_charts_yaml_entry_names_the_chart_and_the_key(charts_dir, entry, message):
    document = {"charts": {"x": {"repository": "https://example.com", "chart": "x", "version": "1.0.0", **entry}}}
    (charts_dir / "charts.yaml").write_text(yaml.safe_dump(document))
    with pytest.raises(ValueError, match=message):
        pinned_charts()
