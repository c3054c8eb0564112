"""The edge (Envoy Gateway, Gateway API, rate limit, timeouts, body size, TLS), per stage under the mock engine."""

import pytest

from components.config import ConfigError
from tests.stagehelpers import STAGES, find_object, load_stage_with, section
from wfdeploy.render.synth import synthesize
from wfdeploy.render.writer import render_stage

P = "workflow-platform"


def config(stage):
    return load_stage_with(stage).config


def edge_object(synthesized, stage, kind, name):
    return find_object(synthesized(stage), kind, name, config(stage).namespaces.edge)


def route(synthesized, stage):
    return edge_object(synthesized, stage, "HTTPRoute", "workflow-service")["spec"]


def backend_policy(synthesized, stage):
    return edge_object(synthesized, stage, "BackendTrafficPolicy", "workflow-service")["spec"]


def resource(synthesis, name):
    (found,) = [r for r in synthesis.resources if r.name == name]
    return found


def problems_of(stage, overrides):
    with pytest.raises(ConfigError) as caught:
        load_stage_with(stage, overrides)
    return {problem.path: problem.message for problem in caught.value.problems}


@pytest.mark.parametrize("stage", STAGES)
def test_envoy_gateway_chart_is_pinned_and_installed_in_its_namespace(synthesized, stage):
    chart = resource(synthesized(stage), "edge-envoy-gateway")
    assert chart.inputs["chart"] == "oci://docker.io/envoyproxy/gateway-helm"
    assert chart.inputs["version"] == "v1.5.0"
    assert chart.inputs["namespace"] == config(stage).edge.controller_namespace
    namespace = find_object(synthesized(stage), "Namespace", config(stage).namespaces.edge)
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("stage", STAGES)
def test_every_edge_custom_resource_waits_for_the_gateway_chart(synthesized, stage):
    custom = [r for r in synthesized(stage).resources
              if r.name.startswith("edge-") and r.type.startswith("kubernetes:") and "apiVersion" in r.inputs
              and r.inputs["apiVersion"].split("/")[0] in ("gateway.networking.k8s.io", "gateway.envoyproxy.io")]
    assert len(custom) >= 7
    for item in custom:
        assert "edge-envoy-gateway" in item.depends_on, item.name


@pytest.mark.parametrize("stage", STAGES)
def test_gateway_class_is_served_by_envoy_gateway_with_the_stage_proxy_fleet(synthesized, stage):
    cfg = config(stage)
    gateway_class = find_object(synthesized(stage), "GatewayClass", "workflow-envoy")["spec"]
    assert gateway_class["controllerName"] == "gateway.envoyproxy.io/gatewayclass-controller"
    assert gateway_class["parametersRef"]["kind"] == "EnvoyProxy"
    proxy = find_object(synthesized(stage), "EnvoyProxy", "workflow-proxy", cfg.edge.controller_namespace)["spec"]
    kubernetes = proxy["provider"]["kubernetes"]
    assert kubernetes["envoyDeployment"]["replicas"] == cfg.edge.proxy_replicas
    expected_type = "LoadBalancer" if cfg.cluster.allow_load_balancer_services else "NodePort"
    assert kubernetes["envoyService"]["type"] == expected_type


@pytest.mark.parametrize("stage", STAGES)
def test_gateway_listens_on_http_and_on_https_where_tls_is_enabled(synthesized, stage):
    cfg = config(stage)
    gateway = edge_object(synthesized, stage, "Gateway", "workflow-gateway")["spec"]
    listeners = {item["name"]: item for item in gateway["listeners"]}
    assert gateway["gatewayClassName"] == "workflow-envoy"
    assert listeners["http"]["port"] == 80 and listeners["http"]["hostname"] == cfg.edge.hostname
    if cfg.edge.tls.enabled:
        assert listeners["https"]["tls"]["certificateRefs"] == [{"kind": "Secret", "group": "", "name": "workflow-edge-tls"}]
        assert listeners["https"]["port"] == 443
    else:
        assert set(listeners) == {"http"}


@pytest.mark.parametrize("stage", STAGES)
def test_tls_comes_from_cert_manager_exactly_where_the_stage_enables_it(synthesized, stage):
    cfg = config(stage)
    names = {r.name for r in synthesized(stage).resources}
    kinds = {obj["kind"] for obj in synthesized(stage).kubernetes_objects()}
    if not cfg.edge.tls.enabled:
        assert "edge-cert-manager" not in names and not {"Certificate", "ClusterIssuer"} & kinds
        return
    chart = resource(synthesized(stage), "edge-cert-manager")
    assert (chart.inputs["chart"], chart.inputs["version"]) == ("cert-manager", "v1.18.2")
    assert chart.inputs["values"]["crds"]["enabled"] is True
    issuer = find_object(synthesized(stage), "ClusterIssuer", "workflow-acme")["spec"]["acme"]
    assert issuer["server"] == cfg.edge.tls.acme_server
    assert issuer["solvers"][0]["http01"]["gatewayHTTPRoute"]["parentRefs"][0]["name"] == "workflow-gateway"
    certificate = edge_object(synthesized, stage, "Certificate", "workflow-edge-tls")["spec"]
    assert certificate["dnsNames"] == [cfg.edge.hostname]
    assert certificate["issuerRef"] == {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "workflow-acme"}
    for name in ("edge-issuer", "edge-certificate"):
        assert "edge-cert-manager" in resource(synthesized(stage), name).depends_on
    redirect = edge_object(synthesized, stage, "HTTPRoute", "workflow-service-https-redirect")["spec"]
    assert redirect["rules"][0]["filters"][0]["requestRedirect"]["scheme"] == "https"


@pytest.mark.parametrize("stage", STAGES)
def test_route_sends_the_stage_host_to_the_workflow_service_with_timeouts(synthesized, stage):
    cfg = config(stage)
    spec = route(synthesized, stage)
    assert spec["hostnames"] == [cfg.edge.hostname]
    assert spec["parentRefs"] == [{"name": "workflow-gateway", "sectionName": "https" if cfg.edge.tls.enabled else "http"}]
    serving = spec["rules"][-1]
    assert serving["backendRefs"] == [
        {"group": "", "kind": "Service", "name": "workflow-service", "namespace": cfg.namespaces.workflow, "port": 80}
    ]
    assert serving["timeouts"] == {"request": cfg.edge.timeouts.request, "backendRequest": cfg.edge.timeouts.backend_request}
    grant = find_object(synthesized(stage), "ReferenceGrant", "allow-edge-routes", cfg.namespaces.workflow)["spec"]
    assert grant["from"] == [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": cfg.namespaces.edge}]


@pytest.mark.parametrize("stage", STAGES)
def test_metrics_endpoint_is_not_served_publicly(synthesized, stage):
    blocked = route(synthesized, stage)["rules"][0]
    assert blocked["matches"] == [{"path": {"type": "PathPrefix", "value": "/metrics"}}]
    assert "backendRefs" not in blocked
    filter_name = blocked["filters"][0]["extensionRef"]["name"]
    direct = edge_object(synthesized, stage, "HTTPRouteFilter", filter_name)["spec"]["directResponse"]
    assert direct["statusCode"] == 404


@pytest.mark.parametrize("stage", STAGES)
def test_rate_limit_is_the_stages(synthesized, stage):
    limit = config(stage).edge.rate_limit
    policy = backend_policy(synthesized, stage)
    assert policy["targetRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "workflow-service"}]
    assert policy["rateLimit"]["type"] == "Local"
    assert policy["rateLimit"]["local"]["rules"] == [{"limit": {"requests": limit.requests, "unit": limit.unit}}]


@pytest.mark.parametrize("stage", STAGES)
def test_request_bodies_and_connections_are_bounded(synthesized, stage):
    edge = config(stage).edge
    assert backend_policy(synthesized, stage)["requestBuffer"] == {"limit": edge.max_request_body_size}
    client = edge_object(synthesized, stage, "ClientTrafficPolicy", "workflow-gateway")["spec"]
    assert client["targetRefs"][0]["kind"] == "Gateway"
    assert client["connection"]["connectionLimit"] == {"value": edge.max_connections}
    assert client["connection"]["bufferLimit"] == edge.max_request_body_size
    assert client["timeout"]["http"]["requestReceivedTimeout"] == edge.timeouts.request


def test_production_edge_differs_from_alpha_only_through_its_stack_file(synthesized):
    overrides = {f"{P}:{key}": section("production", key) for key in ("cluster", "edge", "service")}
    alpha_as_production = synthesize(load_stage_with("alpha", overrides))

    def edge_objects(synthesis):
        return sorted(repr(r.inputs) for r in synthesis.resources if r.name.startswith("edge-") and r.custom)

    assert edge_objects(alpha_as_production) == edge_objects(synthesized("production"))


def test_production_rate_limit_and_proxies_differ_from_alpha_as_the_stack_files_say(synthesized):
    alpha, production = config("alpha").edge, config("production").edge
    assert backend_policy(synthesized, "production")["rateLimit"]["local"]["rules"][0]["limit"]["requests"] == production.rate_limit.requests
    assert backend_policy(synthesized, "alpha")["rateLimit"]["local"]["rules"][0]["limit"]["requests"] == alpha.rate_limit.requests
    assert production.rate_limit.requests != alpha.rate_limit.requests
    assert production.proxy_replicas >= 2


def test_rate_limit_of_zero_is_rejected_with_the_key_path():
    edge = section("alpha", "edge")
    edge["rateLimit"]["requests"] = 0
    problems = problems_of("alpha", {f"{P}:edge": edge})
    assert "greater than or equal to 1" in problems[f"{P}:edge.rateLimit.requests"]


def test_negative_proxy_replicas_are_rejected_with_the_key_path():
    edge = section("alpha", "edge") | {"proxyReplicas": -1}
    problems = problems_of("alpha", {f"{P}:edge": edge})
    assert f"{P}:edge.proxyReplicas" in problems


def test_backend_timeout_longer_than_the_request_timeout_is_rejected():
    edge = section("alpha", "edge")
    edge["timeouts"] = {"request": "10s", "backendRequest": "1m"}
    problems = problems_of("alpha", {f"{P}:edge": edge})
    assert "exceeds request" in problems[f"{P}:edge.timeouts"]


def test_tls_without_an_acme_email_is_rejected():
    edge = section("alpha", "edge")
    edge["tls"] = {"enabled": True}
    problems = problems_of("alpha", {f"{P}:edge": edge})
    assert "email is required" in problems[f"{P}:edge.tls"]


def test_malformed_body_size_is_rejected():
    edge = section("alpha", "edge") | {"maxRequestBodySize": "1 MB"}
    problems = problems_of("alpha", {f"{P}:edge": edge})
    assert f"{P}:edge.maxRequestBodySize" in problems


def test_rendered_edge_without_tls_passes_the_gates(tmp_path):
    # production, with TLS, is rendered through every gate in test_data_tier.py
    stage = "local"
    result = render_stage(load_stage_with(stage), tmp_path / "build")
    assert result.ok, result.gate_results
    outputs = (result.output_dir / "outputs.json").read_text()
    assert config(stage).edge.hostname in outputs
