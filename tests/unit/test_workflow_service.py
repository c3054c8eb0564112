"""The workflow service component, asserted per stage under the mock engine."""

import re

import pytest

from components.config import ConfigError
from tests.stagehelpers import PROJECT_ROOT, STAGES, find_object, load_stage_with, section

P = "workflow-platform"
APP = "workflow-service"


def config(stage):
    return load_stage_with(stage).config


def deployment(synthesized, stage):
    return find_object(synthesized(stage), "Deployment", APP, config(stage).namespaces.workflow)


def container(synthesized, stage):
    (only,) = deployment(synthesized, stage)["spec"]["template"]["spec"]["containers"]
    return only


def problems_of(stage, overrides):
    with pytest.raises(ConfigError) as caught:
        load_stage_with(stage, overrides)
    return {problem.path: problem.message for problem in caught.value.problems}


@pytest.mark.parametrize("stage", STAGES)
def test_namespace_enforces_pod_security_restricted(synthesized, stage):
    namespace = find_object(synthesized(stage), "Namespace", "workflow")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("stage", STAGES)
def test_replicas_come_from_the_stack_file_through_the_hpa_alone(synthesized, stage):
    # the HPA owns .spec.replicas: a Deployment that sets it conflicts on the next server-side apply after a scale-out
    expected = config(stage).service.replicas
    assert "replicas" not in deployment(synthesized, stage)["spec"]
    hpa = find_object(synthesized(stage), "HorizontalPodAutoscaler", APP, config(stage).namespaces.workflow)
    assert hpa["spec"]["minReplicas"] == expected
    assert isinstance(hpa["spec"]["minReplicas"], int)


@pytest.mark.parametrize("stage", STAGES)
def test_image_is_the_stack_files_and_digest_pinned_unless_tags_are_allowed(synthesized, stage):
    images = config(stage).images
    image = container(synthesized, stage)["image"]
    assert image == images.workflow_service
    if not images.allow_tags:
        assert re.search(r"@sha256:[a-f0-9]{64}$", image)


@pytest.mark.parametrize("stage", STAGES)
def test_rolling_update_never_drops_below_the_replica_count(synthesized, stage):
    strategy = deployment(synthesized, stage)["spec"]["strategy"]
    assert strategy["type"] == "RollingUpdate"
    assert strategy["rollingUpdate"]["maxUnavailable"] == 0


@pytest.mark.parametrize("stage", STAGES)
def test_probes_use_the_service_contract_endpoints(synthesized, stage):
    pod = container(synthesized, stage)
    assert pod["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert pod["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert pod["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert pod["ports"] == [{"name": "http", "containerPort": config(stage).service.port, "protocol": "TCP"}]


@pytest.mark.parametrize("stage", STAGES)
def test_requests_and_limits_come_from_the_stack_file(synthesized, stage):
    assert container(synthesized, stage)["resources"] == config(stage).service.resources.as_kubernetes()


@pytest.mark.parametrize("stage", STAGES)
def test_pod_is_pod_security_restricted_with_a_read_only_root(synthesized, stage):
    pod_spec = deployment(synthesized, stage)["spec"]["template"]["spec"]
    context = container(synthesized, stage)["securityContext"]
    assert pod_spec["securityContext"]["runAsNonRoot"] is True
    assert pod_spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    scratch = {volume["name"]: volume for volume in pod_spec["volumes"]}["scratch"]
    assert "emptyDir" in scratch
    assert {"name": "scratch", "mountPath": "/tmp"} in container(synthesized, stage)["volumeMounts"]


@pytest.mark.parametrize("stage", STAGES)
def test_own_service_account_without_a_token(synthesized, stage):
    namespace = config(stage).namespaces.workflow
    account = find_object(synthesized(stage), "ServiceAccount", APP, namespace)
    pod_spec = deployment(synthesized, stage)["spec"]["template"]["spec"]
    assert pod_spec["serviceAccountName"] == account["metadata"]["name"]
    assert pod_spec["automountServiceAccountToken"] is False
    assert account["automountServiceAccountToken"] is False


@pytest.mark.parametrize("stage", STAGES)
def test_pods_spread_across_nodes_and_configured_zones(synthesized, stage):
    keys = [item["topologyKey"] for item in deployment(synthesized, stage)["spec"]["template"]["spec"]["topologySpreadConstraints"]]
    assert "kubernetes.io/hostname" in keys
    assert ("topology.kubernetes.io/zone" in keys) == bool(config(stage).cluster.zones)


@pytest.mark.parametrize("stage", STAGES)
def test_disruption_budget_keeps_pods_serving(synthesized, stage):
    replicas = config(stage).service.replicas
    budget = find_object(synthesized(stage), "PodDisruptionBudget", APP, config(stage).namespaces.workflow)
    assert budget["spec"]["maxUnavailable"] == (1 if replicas > 1 else 0)
    assert budget["spec"]["maxUnavailable"] < replicas or replicas == 1


@pytest.mark.parametrize("stage", STAGES)
def test_autoscaler_holds_cpu_at_the_configured_share_of_requests(synthesized, stage):
    service = config(stage).service
    hpa = find_object(synthesized(stage), "HorizontalPodAutoscaler", APP, config(stage).namespaces.workflow)
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == APP
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (service.replicas, service.max_replicas)
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"] == {
        "type": "Utilization", "averageUtilization": service.cpu_target_utilization_percent,
    }


def test_production_autoscales_before_pods_pass_half_their_cpu_requests(synthesized):
    hpa = find_object(synthesized("production"), "HorizontalPodAutoscaler", APP, "workflow")
    assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] <= 50


@pytest.mark.parametrize("stage", STAGES)
def test_graceful_drain_sleeps_before_sigterm_within_the_grace_period(synthesized, stage):
    pod_spec = deployment(synthesized, stage)["spec"]["template"]["spec"]
    sleep = container(synthesized, stage)["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pod_spec["terminationGracePeriodSeconds"] == config(stage).service.termination_grace_period_seconds
    assert 0 < sleep < pod_spec["terminationGracePeriodSeconds"]


@pytest.mark.parametrize("stage", STAGES)
def test_service_exposes_the_http_port(synthesized, stage):
    service = find_object(synthesized(stage), "Service", APP, config(stage).namespaces.workflow)
    assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]


@pytest.mark.parametrize("stage", STAGES)
def test_settings_come_from_a_config_map_with_database_and_cache_hosts(synthesized, stage):
    cfg = config(stage)
    settings = find_object(synthesized(stage), "ConfigMap", f"{APP}-settings", cfg.namespaces.workflow)["data"]
    assert container(synthesized, stage)["envFrom"] == [{"configMapRef": {"name": f"{APP}-settings"}}]
    assert settings["DATABASE_HOST"] == f"workflow-db-pooler-rw.{cfg.namespaces.data}.svc"
    assert settings["DATABASE_NAME"] == "workflow"
    assert settings["REDIS_HOST"] == f"workflow-cache.{cfg.namespaces.data}.svc"
    assert settings["LOG_LEVEL"] == cfg.service.log_level
    assert not any("PASSWORD" in key for key in settings)


@pytest.mark.parametrize("stage", STAGES)
def test_credentials_are_only_secret_references(synthesized, stage):
    env = {item["name"]: item for item in container(synthesized, stage)["env"]}
    assert all("value" not in item and "secretKeyRef" in item["valueFrom"] for item in env.values())
    assert env["DATABASE_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "workflow-db-app", "key": "password"}
    assert env["DATABASE_USER"]["valueFrom"]["secretKeyRef"] == {"name": "workflow-db-app", "key": "username"}
    assert env["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "workflow-cache-auth", "key": "password"}
    # a pod reads Secrets of its own namespace only: the referenced Secrets exist there
    for name in ("workflow-db-app", "workflow-cache-auth"):
        find_object(synthesized(stage), "Secret", name, config(stage).namespaces.workflow)


def test_changed_settings_roll_the_pods(synthesized):
    from wfdeploy.render.synth import synthesize

    service = section("alpha", "service") | {"logLevel": "warning"}
    changed = synthesize(load_stage_with("alpha", {f"{P}:service": service}))
    before = deployment(synthesized, "alpha")["spec"]["template"]["metadata"]["annotations"]["checksum/settings"]
    after = find_object(changed, "Deployment", APP, "workflow")["spec"]["template"]["metadata"]["annotations"]["checksum/settings"]
    assert before != after


def test_production_requires_at_least_three_replicas():
    service = section("production", "service") | {"replicas": 2}
    problems = problems_of("production", {f"{P}:service": service})
    assert problems == {f"{P}:service.replicas": "stage 'production' needs at least 3, got 2"}


def test_production_stack_file_runs_at_least_three_replicas():
    assert config("production").service.replicas >= 3


def test_production_rejects_a_tag_only_image():
    images = section("production", "images") | {"workflowService": "ghcr.io/example/workflow-service:1.4.2"}
    problems = problems_of("production", {f"{P}:images": images})
    assert "digest-pinned" in problems[f"{P}:images.workflowService"]


def test_negative_service_replicas_are_rejected_with_the_key_path():
    service = section("alpha", "service") | {"replicas": -1}
    problems = problems_of("alpha", {f"{P}:service": service})
    assert f"{P}:service.replicas" in problems


def _readme_section(title: str) -> str:
    text = (PROJECT_ROOT / "README.md").read_text()
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"README.md has no '## {title}' section"
    return match.group(1)


def test_readme_service_contract_names_every_endpoint_and_variable_the_pod_uses(synthesized):
    contract = _readme_section("Service contract")
    pod = container(synthesized, "production")
    settings = find_object(synthesized("production"), "ConfigMap", f"{APP}-settings", "workflow")["data"]
    documented_paths = set(re.findall(r"`GET (/\S*)`", contract))
    assert {"/healthz", "/readyz", "/metrics"} <= documented_paths
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert pod[probe]["httpGet"]["path"] in documented_paths
    for name in [*settings, *(item["name"] for item in pod["env"])]:
        assert f"`{name}`" in contract, f"{name} is not documented in the README's service contract"
    assert "SIGTERM" in contract


def test_settings_checksum_does_not_depend_on_the_order_the_provider_returns_keys_in():
    from components.workflow.component import checksum_of_settings

    assert checksum_of_settings({"PORT": "8080", "LOG_LEVEL": "info"}) == checksum_of_settings({"LOG_LEVEL": "info", "PORT": "8080"})
    assert checksum_of_settings({"PORT": "8080"}) != checksum_of_settings({"PORT": "8081"})
