"""network-config-analyzer over the rendered policies: connectivity equals the flows table, and differences name the flow."""

from __future__ import annotations

import copy

import pytest

from components.network.flows import intended_flows, platform_namespaces
from tests.stagehelpers import STAGES, load_stage_with
from wfdeploy.render.context import RenderContext
from wfdeploy.render.gates.connectivity import NCA, check_connectivity, rendered_objects
from wfdeploy.render.gates.connectivity import chart_names

pytestmark = pytest.mark.integration


def inputs(result):
    config = load_stage_with(result.stage).config
    context = RenderContext(load_stage_with(result.stage), result.synthesis, result.output_dir)
    return rendered_objects(result.output_dir), intended_flows(config), platform_namespaces(config), chart_names(context)


def test_network_config_analyzer_is_installed():
    assert NCA.is_file(), f"{NCA} missing: run scripts/install"


@pytest.mark.parametrize("stage", STAGES)
def test_connectivity_of_every_stage_equals_the_flows_table(stage, rendered):
    assert [str(failure) for failure in check_connectivity(*inputs(rendered[stage]))] == []


def policy(objects, namespace, name):
    (found,) = [o for o in objects if o["kind"] == "NetworkPolicy" and o["metadata"]["namespace"] == namespace and o["metadata"]["name"] == name]
    return found


def test_a_missing_allow_rule_fails_and_names_the_flow(rendered):
    objects, flows, owned, charts = inputs(rendered["production"])
    objects = copy.deepcopy(objects)
    allow = policy(objects, "workflow", "allow-workflow-service")
    allow["spec"]["ingress"] = [rule for rule in allow["spec"]["ingress"] if "envoy" not in str(rule)]
    failures = check_connectivity(objects, flows, owned, charts)
    assert [f.subject for f in failures] == ["envoy-gateway-system/envoy-proxy -> workflow/workflow-service TCP/8080"]
    assert "missing flow (edge routes requests to the workflow service)" in failures[0].problem


def test_an_extra_allow_rule_fails_and_names_the_connection(rendered):
    objects, flows, owned, charts = inputs(rendered["production"])
    objects = copy.deepcopy(objects)
    # both ends opened: the workflow service talks to the PostgreSQL instances directly, bypassing PgBouncer
    database = {"cnpg.io/cluster": "workflow-db", "cnpg.io/podRole": "instance"}
    service = policy(objects, "workflow", "allow-workflow-service")
    service["spec"]["egress"].append(
        {
            "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "workflow-data"}}, "podSelector": {"matchLabels": database}}],
            "ports": [{"protocol": "TCP", "port": 5432}],
        }
    )
    instances = policy(objects, "workflow-data", "allow-workflow-db")
    instances["spec"]["ingress"].append(
        {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "workflow"}}}], "ports": [{"protocol": "TCP", "port": 5432}]}
    )
    failures = check_connectivity(objects, flows, owned, charts)
    assert [str(f) for f in failures] == [
        "workflow/workflow-service[Deployment] -> workflow-data/workflow-db[Pod]: extra flow not in the flows table: TCP/5432"
    ]


def test_a_namespace_without_default_deny_fails_with_its_extra_flows(rendered):
    objects, flows, owned, charts = inputs(rendered["production"])
    objects = [o for o in objects if not (o["kind"] == "NetworkPolicy" and o["metadata"]["namespace"] == "logging")]
    failures = check_connectivity(objects, flows, owned, charts)
    assert any(f.subject.startswith("logging/kibana") and "extra flow" in f.problem for f in failures)


def test_an_egress_cidr_outside_the_table_is_an_extra_flow(rendered):
    objects, flows, owned, charts = inputs(rendered["production"])
    objects = copy.deepcopy(objects)
    allow = policy(objects, "workflow", "allow-workflow-service")
    allow["spec"]["egress"].append({"to": [{"ipBlock": {"cidr": "203.0.113.0/24"}}], "ports": [{"protocol": "TCP", "port": 443}]})
    failures = check_connectivity(objects, flows, owned, charts)
    assert [str(f) for f in failures] == [
        "workflow/workflow-service[Deployment] -> 203.0.113.0/24: extra flow not in the flows table: TCP/443"
    ]


def test_nca_reads_files_and_cannot_reach_a_cluster(rendered, monkeypatch):
    from wfdeploy.render.gates import connectivity as gate_module

    calls = []
    real_run = gate_module.run_tool  # the gate's one way to start nca (in a process group of its own)

    def recording_run(command, **kwargs):
        calls.append((command, kwargs))
        return real_run(command, **kwargs)

    monkeypatch.setattr(gate_module, "run_tool", recording_run)
    assert check_connectivity(*inputs(rendered["local"])) == []
    ((command, kwargs),) = calls
    assert "--resource_list" in command and "--connectivity" in command
    assert kwargs["env"]["PATH"] == str(NCA.parent) and not (NCA.parent / "kubectl").exists()
