"""The monitoring component under the mock engine, and what `render` writes for it."""

from __future__ import annotations

import json
from urllib.parse import urlparse

import pytest

from components.monitoring.rules import rule_files
from tests.stagehelpers import PROJECT_ROOT, STAGES, find_object, load_stage_with
from wfdeploy.render.context import RenderError
from wfdeploy.render.writer import render_stage


def chart_values(synthesis) -> dict:
    (chart,) = [r for r in synthesis.resources if r.type.startswith("kubernetes:helm.sh/") and r.name == "monitoring-stack"]
    assert chart.inputs["chart"] == "kube-prometheus-stack"
    return chart.inputs["values"]


@pytest.mark.parametrize("stage", STAGES)
def test_retention_storage_and_resources_come_from_the_stack_file(synthesized, stage):
    config = load_stage_with(stage).config.monitoring
    spec = chart_values(synthesized(stage))["prometheus"]["prometheusSpec"]
    assert spec["retention"] == config.prometheus.retention
    assert spec["retentionSize"] == config.prometheus.retention_size
    claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["resources"]["requests"]["storage"] == config.prometheus.storage_size
    assert spec["resources"]["limits"]["memory"] == config.prometheus.resources.memory_limit


def test_production_runs_at_least_two_alertmanagers(synthesized):
    spec = chart_values(synthesized("production"))["alertmanager"]["alertmanagerSpec"]
    assert spec["replicas"] >= 2
    assert isinstance(spec["replicas"], int)


@pytest.mark.parametrize("stage", STAGES)
def test_selectors_pick_up_the_platform_monitors_and_rules(synthesized, stage):
    synthesis = synthesized(stage)
    spec = chart_values(synthesis)["prometheus"]["prometheusSpec"]
    wanted = spec["ruleSelector"]["matchLabels"]
    assert spec["ruleSelectorNilUsesHelmValues"] is False
    for obj in synthesis.kubernetes_objects():
        if obj["kind"] in ("PrometheusRule", "ServiceMonitor", "PodMonitor"):
            labels = obj["metadata"]["labels"]
            assert all(labels.get(k) == v for k, v in wanted.items()), obj["metadata"]["name"]
            namespaces = spec["ruleNamespaceSelector"]["matchExpressions"][0]["values"]
            assert obj["metadata"]["namespace"] in namespaces


@pytest.mark.parametrize("stage", STAGES)
def test_grafana_admin_comes_from_a_secret_and_anonymous_access_is_off(synthesized, stage):
    grafana = chart_values(synthesized(stage))["grafana"]
    assert grafana["admin"]["existingSecret"] == "grafana-admin"
    assert grafana["grafana.ini"]["auth.anonymous"]["enabled"] is False
    assert "adminPassword" not in grafana
    secret = find_object(synthesized(stage), "Secret", "grafana-admin", "monitoring")
    assert secret["stringData"]["admin-password"] == "<redacted>"


def test_receiver_secret_holds_only_redacted_values_and_is_mounted(synthesized):
    synthesis = synthesized("production")
    secret = find_object(synthesis, "Secret", "alertmanager-receivers", "monitoring")
    assert secret["stringData"] == {"chatWebhookUrl": "<redacted>", "pagerRoutingKey": "<redacted>"}
    assert chart_values(synthesis)["alertmanager"]["alertmanagerSpec"]["secrets"] == ["alertmanager-receivers"]


def test_local_has_no_receiver_secret(synthesized):
    kinds = [(o["kind"], o["metadata"]["name"]) for o in synthesized("local").kubernetes_objects()]
    assert ("Secret", "alertmanager-receivers") not in kinds


@pytest.mark.parametrize("stage", STAGES)
def test_prometheus_rules_wrap_the_rule_files_unchanged(synthesized, stage):
    files = rule_files(load_stage_with(stage).config)
    for name, document in files.items():
        rule = find_object(synthesized(stage), "PrometheusRule", name, "monitoring")
        assert rule["spec"] == json.loads(json.dumps(document))


def test_scrape_targets_follow_the_contract(synthesized):
    synthesis = synthesized("production")
    service = find_object(synthesis, "ServiceMonitor", "workflow-service", "monitoring")
    assert service["spec"]["namespaceSelector"] == {"matchNames": ["workflow"]}
    assert service["spec"]["endpoints"][0]["port"] == "http"
    assert service["spec"]["endpoints"][0]["honorLabels"] is True
    postgres = find_object(synthesis, "PodMonitor", "workflow-db", "monitoring")
    assert postgres["spec"]["selector"]["matchLabels"] == {"cnpg.io/cluster": "workflow-db"}
    assert postgres["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"
    cache = find_object(synthesis, "PodMonitor", "workflow-cache", "monitoring")
    assert cache["spec"]["namespaceSelector"] == {"matchNames": ["workflow-data"]}


def test_dashboards_are_configmaps_for_the_grafana_sidecar(synthesized):
    boards = [o for o in synthesized("production").kubernetes_objects() if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("dashboard-")]
    assert {b["metadata"]["name"] for b in boards} >= {"dashboard-workflow-slo", "dashboard-workflow-backups"}
    for board in boards:
        assert board["metadata"]["labels"]["grafana_dashboard"] == "1"
        (content,) = board["data"].values()
        assert json.loads(content)["panels"]


def test_every_runbook_url_resolves_to_a_file_in_runbooks():
    config = load_stage_with("production").config
    for document in rule_files(config).values():
        for group in document["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    path = urlparse(rule["annotations"]["runbook_url"]).path
                    relative = path[path.index("/runbooks/") + 1 :]
                    assert (PROJECT_ROOT / relative).is_file(), relative


def test_render_writes_rules_alertmanager_dashboards_and_runbooks(tmp_path):
    result = render_stage(load_stage_with("staging"), tmp_path)
    out = result.output_dir
    assert sorted(p.name for p in (out / "monitoring" / "rules").iterdir()) == sorted(
        f"{n}.yaml" for n in rule_files(load_stage_with("staging").config)
    )
    assert (out / "monitoring" / "alertmanager.yaml").is_file()
    assert (out / "monitoring" / "dashboards" / "workflow-slo.json").is_file()
    runbook = (out / "runbooks" / "BackupStale.md").read_text()
    assert "--context workflow-staging" in runbook and "RPO 2h" in runbook and "{{" not in runbook
    assert result.gate_results["monitoring"] == []


def test_a_rule_without_a_runbook_template_fails_render(tmp_path, monkeypatch):
    import wfdeploy.render.artifacts.monitoring as writer
    from components.monitoring.runbooks import render_runbooks

    empty = tmp_path / "runbooks"
    (empty / "alerts").mkdir(parents=True)
    # the rules stay; only their runbook templates are gone
    monkeypatch.setattr(writer, "render_runbooks", lambda config: render_runbooks(config, empty))
    with pytest.raises(RenderError, match="has no runbook template"):
        render_stage(load_stage_with("local"), tmp_path / "build")
    assert not (tmp_path / "build" / "local").exists()


@pytest.mark.parametrize("stage", STAGES)
def test_grafana_on_a_volume_never_runs_the_root_chown_init_container(synthesized, stage):
    # initChownData runs as root with CHOWN: Pod Security `restricted` refuses the whole Grafana pod
    grafana = chart_values(synthesized(stage))["grafana"]
    assert grafana["persistence"]["enabled"] is True
    assert grafana["initChownData"] == {"enabled": False}
    # fsGroup is what makes the volume writable instead
    assert grafana["securityContext"]["fsGroup"] == grafana["securityContext"]["runAsUser"] == 472
    assert grafana["securityContext"]["runAsNonRoot"] is True
