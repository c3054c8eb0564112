"""The data tier (CloudNativePG PostgreSQL, Redis cache), asserted per stage under the mock engine."""

import re

import pulumi
import pytest
from pulumi.runtime import settings as runtime_settings

from components.config import ConfigError
from components.config.types import memory_bytes
from components.data.redis import RedisCache, RedisCacheArgs
from tests.stagehelpers import STAGES, find_object, load_stage_with, section
from wfdeploy.render.synth import synthesize
from wfdeploy.render.writer import render_stage

P = "workflow-platform"


def config(stage):
    return load_stage_with(stage).config


def data_object(synthesized, stage, kind, name):
    return find_object(synthesized(stage), kind, name, config(stage).namespaces.data)


def cluster(synthesized, stage):
    return data_object(synthesized, stage, "Cluster", "workflow-db")["spec"]


def redis_pod(synthesized, stage):
    return data_object(synthesized, stage, "StatefulSet", "workflow-cache")["spec"]["template"]["spec"]


def redis_containers(synthesized, stage):
    return {item["name"]: item for item in redis_pod(synthesized, stage)["containers"]}


def problems_of(stage, overrides):
    with pytest.raises(ConfigError) as caught:
        load_stage_with(stage, overrides)
    return {problem.path: problem.message for problem in caught.value.problems}


# -- PostgreSQL -----------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_data_namespace_enforces_pod_security_restricted(synthesized, stage):
    for name in (config(stage).namespaces.data, config(stage).data.operator_namespace):
        namespace = find_object(synthesized(stage), "Namespace", name)
        assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("stage", STAGES)
def test_operator_chart_is_the_pinned_cloudnative_pg_release(synthesized, stage):
    (chart,) = [r for r in synthesized(stage).resources if r.name == "data-operator"]
    assert chart.type == "kubernetes:helm.sh/v4:Chart"
    assert (chart.inputs["chart"], chart.inputs["version"]) == ("cloudnative-pg", "0.26.0")
    assert chart.inputs["repositoryOpts"]["repo"] == "https://cloudnative-pg.github.io/charts"
    assert chart.inputs["values"]["replicaCount"] == config(stage).data.operator_replicas
    assert chart.inputs["values"]["crds"]["create"] is True


@pytest.mark.parametrize("stage", STAGES)
def test_postgres_custom_resources_wait_for_the_operator_crds(synthesized, stage):
    for name in ("data-postgres-cluster", "data-postgres-pooler"):
        (resource,) = [r for r in synthesized(stage).resources if r.name == name]
        assert "data-operator" in resource.depends_on, f"{name} is not ordered after the CRDs"
        assert "data-db-app" in resource.depends_on, f"{name} is not ordered after its bootstrap Secret"


@pytest.mark.parametrize("stage", STAGES)
def test_postgres_instances_storage_and_resources_come_from_the_stack_file(synthesized, stage):
    settings = config(stage).data.postgres
    spec = cluster(synthesized, stage)
    assert spec["instances"] == settings.instances
    assert spec["storage"]["size"] == settings.storage_size
    assert spec["resources"] == settings.resources.as_kubernetes()
    assert spec["imageName"] == config(stage).images.postgres
    assert ("walStorage" in spec) == (settings.wal_storage_size is not None)


@pytest.mark.parametrize("stage", STAGES)
def test_postgres_instances_are_anti_affine_as_configured(synthesized, stage):
    affinity = cluster(synthesized, stage)["affinity"]
    assert affinity["enablePodAntiAffinity"] is True
    assert affinity["podAntiAffinityType"] == config(stage).data.postgres.anti_affinity
    assert affinity["topologyKey"] == "kubernetes.io/hostname"


@pytest.mark.parametrize("stage", STAGES)
def test_pg_stat_statements_is_loaded_and_tracked(synthesized, stage):
    postgresql = cluster(synthesized, stage)["postgresql"]
    assert "pg_stat_statements" in postgresql["shared_preload_libraries"]
    assert postgresql["parameters"]["pg_stat_statements.track"] == "all"
    assert all(isinstance(value, str) for value in postgresql["parameters"].values())
    initdb = cluster(synthesized, stage)["bootstrap"]["initdb"]
    assert "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" in initdb["postInitApplicationSQL"]


@pytest.mark.parametrize("stage", STAGES)
def test_postgres_exporter_is_on_and_reachable_through_a_metrics_port(synthesized, stage):
    monitoring = cluster(synthesized, stage)["monitoring"]
    assert monitoring["enablePodMonitor"] is False  # scrape configuration belongs to the monitoring concern
    assert monitoring["customQueriesConfigMap"] == [{"name": "workflow-db-queries", "key": "queries"}]
    queries = data_object(synthesized, stage, "ConfigMap", "workflow-db-queries")
    assert "pg_stat_statements" in queries["data"]["queries"]
    service = data_object(synthesized, stage, "Service", "workflow-db-metrics")
    # instances only: the pooler's pods carry `cnpg.io/cluster` too but serve no exporter on 9187
    assert service["spec"]["selector"] == {"cnpg.io/cluster": "workflow-db", "cnpg.io/podRole": "instance"}
    assert service["spec"]["ports"][0]["name"] == "metrics"
    assert service["spec"]["ports"][0]["port"] == 9187
    pooler = data_object(synthesized, stage, "Service", "workflow-db-pooler-metrics")
    assert pooler["spec"]["ports"][0]["name"] == "metrics"


@pytest.mark.parametrize("stage", STAGES)
def test_database_bootstraps_from_the_generated_basic_auth_secret(synthesized, stage):
    initdb = cluster(synthesized, stage)["bootstrap"]["initdb"]
    assert (initdb["database"], initdb["owner"], initdb["secret"]) == ("workflow", "workflow", {"name": "workflow-db-app"})
    assert cluster(synthesized, stage)["enableSuperuserAccess"] is False
    secret = data_object(synthesized, stage, "Secret", "workflow-db-app")
    assert secret["type"] == "kubernetes.io/basic-auth"
    assert secret["stringData"] == {"username": "<redacted>", "password": "<redacted>"}


@pytest.mark.parametrize("stage", STAGES)
def test_passwords_are_generated_with_pulumi_random(synthesized, stage):
    passwords = synthesized(stage).of_type("random:index/randomPassword:RandomPassword")
    ours = [p for p in passwords if p.name.startswith("data-")]
    assert sorted(p.name for p in ours) == ["data-cache-password", "data-db-password"]
    assert all(p.inputs["length"] >= 32 for p in ours)


@pytest.mark.parametrize("stage", STAGES)
def test_pooler_is_pgbouncer_in_front_of_the_primary(synthesized, stage):
    settings = config(stage).data.postgres
    spec = data_object(synthesized, stage, "Pooler", "workflow-db-pooler-rw")["spec"]
    assert spec["cluster"] == {"name": "workflow-db"}
    assert spec["type"] == "rw"
    assert spec["instances"] == settings.pooler_instances
    assert spec["pgbouncer"]["poolMode"] == settings.pool_mode
    assert spec["pgbouncer"]["parameters"]["max_client_conn"] == str(settings.max_client_connections)


# -- Redis ----------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_redis_replicas_images_and_storage_come_from_the_stack_file(synthesized, stage):
    cfg = config(stage)
    stateful_set = data_object(synthesized, stage, "StatefulSet", "workflow-cache")["spec"]
    containers = redis_containers(synthesized, stage)
    assert stateful_set["replicas"] == cfg.data.redis.replicas
    assert containers["redis"]["image"] == cfg.images.redis
    assert containers["redis-exporter"]["image"] == cfg.images.redis_exporter
    assert containers["redis"]["resources"] == cfg.data.redis.resources.as_kubernetes()
    (claim,) = stateful_set["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == cfg.data.redis.storage_size
    assert {"name": "data", "mountPath": "/data"} in containers["redis"]["volumeMounts"]


@pytest.mark.parametrize("stage", STAGES)
def test_redis_is_a_bounded_lru_cache(synthesized, stage):
    settings = config(stage).data.redis
    conf = data_object(synthesized, stage, "ConfigMap", "workflow-cache-config")["data"]["redis.conf"]
    assert f"maxmemory {memory_bytes(settings.maxmemory)}\n" in conf
    assert "maxmemory-policy allkeys-lru\n" in conf
    assert memory_bytes(settings.maxmemory) < memory_bytes(settings.resources.memory)
    assert f"appendonly {'yes' if settings.append_only else 'no'}\n" in conf


@pytest.mark.parametrize("stage", STAGES)
def test_redis_requires_the_generated_password_from_its_secret(synthesized, stage):
    config_map = data_object(synthesized, stage, "ConfigMap", "workflow-cache-config")["data"]
    assert "include /run/redis/auth.conf" in config_map["redis.conf"]
    assert "requirepass %s" in config_map["start.sh"] and '"$REDIS_PASSWORD"' in config_map["start.sh"]
    for container in redis_containers(synthesized, stage).values():
        env = {item["name"]: item for item in container["env"]}
        assert env["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "workflow-cache-auth", "key": "password"}
    secret = data_object(synthesized, stage, "Secret", "workflow-cache-auth")
    assert secret["stringData"] == {"password": "<redacted>"}


@pytest.mark.parametrize("stage", STAGES)
def test_redis_runs_hardened(synthesized, stage):
    pod = redis_pod(synthesized, stage)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    for container in pod["containers"]:
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert context["allowPrivilegeEscalation"] is False


@pytest.mark.parametrize("stage", STAGES)
def test_redis_pods_are_anti_affine_as_configured(synthesized, stage):
    anti = redis_pod(synthesized, stage)["affinity"]["podAntiAffinity"]
    mode = config(stage).data.redis.anti_affinity
    expected_key = {"required": "requiredDuringSchedulingIgnoredDuringExecution",
                    "preferred": "preferredDuringSchedulingIgnoredDuringExecution"}[mode]
    assert list(anti) == [expected_key]


@pytest.mark.parametrize("stage", STAGES)
def test_redis_exporter_serves_a_metrics_port_on_the_headless_service(synthesized, stage):
    exporter = redis_containers(synthesized, stage)["redis-exporter"]
    assert exporter["ports"] == [{"name": "metrics", "containerPort": 9121, "protocol": "TCP"}]
    headless = data_object(synthesized, stage, "Service", "workflow-cache-headless")
    assert {"name": "metrics", "port": 9121, "targetPort": "metrics", "protocol": "TCP"} in headless["spec"]["ports"]


@pytest.mark.parametrize("stage", STAGES)
def test_clients_reach_only_the_redis_primary(synthesized, stage):
    service = data_object(synthesized, stage, "Service", "workflow-cache")
    assert service["spec"]["selector"]["statefulset.kubernetes.io/pod-name"] == "workflow-cache-0"
    assert service["spec"]["ports"] == [{"name": "redis", "port": 6379, "targetPort": "redis", "protocol": "TCP"}]


# -- stage differences and validation -------------------------------------------


def _tier_objects(synthesis, stage):
    """Everything the data tier declares (objects, charts, passwords), as comparable text."""
    return sorted(repr(r.inputs) for r in synthesis.resources if r.name.startswith("data-") and r.custom)


def test_production_differs_from_alpha_only_through_its_stack_file(synthesized):
    production_sections = {f"{P}:{key}": section("production", key) for key in ("cluster", "images", "data")}
    alpha_as_production = synthesize(load_stage_with("alpha", production_sections))
    assert _tier_objects(alpha_as_production, "alpha") == _tier_objects(synthesized("production"), "production")


def test_production_is_replicated_where_alpha_is_not_as_the_stack_files_say(synthesized):
    alpha, production = config("alpha").data, config("production").data
    assert cluster(synthesized, "production")["instances"] == production.postgres.instances >= 3
    assert cluster(synthesized, "alpha")["instances"] == alpha.postgres.instances
    assert cluster(synthesized, "production")["affinity"]["podAntiAffinityType"] == "required"
    assert data_object(synthesized, "production", "StatefulSet", "workflow-cache")["spec"]["replicas"] == production.redis.replicas


def test_negative_postgres_instances_are_rejected_with_the_key_path():
    data = section("alpha", "data")
    data["postgres"]["instances"] = -1
    problems = problems_of("alpha", {f"{P}:data": data})
    assert "greater than or equal to 1" in problems[f"{P}:data.postgres.instances"]


def test_negative_redis_replicas_are_rejected_with_the_key_path():
    data = section("alpha", "data")
    data["redis"]["replicas"] = -2
    problems = problems_of("alpha", {f"{P}:data": data})
    assert "greater than or equal to 1" in problems[f"{P}:data.redis.replicas"]


def test_production_rejects_a_single_postgres_instance():
    data = section("production", "data")
    data["postgres"]["instances"] = 1
    problems = problems_of("production", {f"{P}:data": data})
    assert problems == {f"{P}:data.postgres.instances": "stage 'production' needs at least 3, got 1"}


@pytest.mark.parametrize("key", ["postgres", "redis", "redisExporter"])
def test_production_rejects_a_tag_only_data_image(key):
    images = section("production", "images")
    images[key] = images[key].split("@")[0]
    problems = problems_of("production", {f"{P}:images": images})
    assert "digest-pinned" in problems[f"{P}:images.{key}"]


def test_redis_maxmemory_must_leave_headroom_below_the_memory_limit():
    data = section("alpha", "data")
    data["redis"]["maxmemory"] = data["redis"]["resources"]["memory"]
    problems = problems_of("alpha", {f"{P}:data": data})
    assert "75%" in problems[f"{P}:data.redis"]


# -- rendered output -------------------------------------------------------------


def test_rendered_stage_passes_the_gates_and_holds_no_password(tmp_path):
    result = render_stage(load_stage_with("production"), tmp_path / "build")
    assert result.ok, result.gate_results
    rendered = "\n".join(path.read_text() for path in result.output_dir.rglob("*") if path.is_file())
    # the mock engine's stand-in for each generated password must not leak anywhere
    assert "<computed:RandomPassword" not in rendered
    assert not re.search(r"(requirepass|password)\s*[:=]?\s*[A-Za-z0-9]{32}\b", rendered)
    ours = [path for path in result.output_dir.rglob("Secret.workflow-*.yaml")]
    assert sorted(path.name for path in ours) == ["Secret.workflow-cache-auth.yaml"] * 2 + ["Secret.workflow-db-app.yaml"] * 2
    assert all("password: <redacted>" in path.read_text() for path in ours)


# -- the component on its own, under pulumi.runtime.test ------------------------------


class _EchoMocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        return [f"{args.name}-id", dict(args.inputs)]

    def call(self, args):
        return {}


@pytest.fixture
def component_mocks():
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(_EchoMocks(), project=P, stack="unit", preview=False)
    yield


@pulumi.runtime.test
def _redis_component_exposes_its_primary_service():
    cache = RedisCache(
        "cache",
        RedisCacheArgs(
            namespace="cache-ns",
            image="docker.io/library/redis:7.4.5-alpine",
            exporter_image="docker.io/oliver006/redis_exporter:v1.67.0",
            settings=load_stage_with("staging").config.data.redis,
            auth_secret_name="workflow-cache-auth",
        ),
    )

    def check(values):
        service_name, stateful_set_name = values
        assert service_name == "workflow-cache"
        assert stateful_set_name == "workflow-cache"

    return pulumi.Output.all(cache.service_name, cache.stateful_set_name).apply(check)


def test_redis_component_alone_under_pulumi_runtime_test(component_mocks):
    _redis_component_exposes_its_primary_service()
