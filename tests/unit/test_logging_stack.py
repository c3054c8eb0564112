"""Elasticsearch, Kibana, the shipper and the setup job as the real program declares them per stage (mock engine)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest

from components.charts import pinned_charts
from components.logging.retention import ILM_POLICY, desired_state
from tests.stagehelpers import PROJECT_ROOT, STAGES, find_object, load_stage_with, section
from wfdeploy.render.synth import synthesize

CRD_SCHEMAS = PROJECT_ROOT.parent / "shared" / "crd-schemas"
ECK_GROUPS = ("elasticsearch.k8s.elastic.co", "kibana.k8s.elastic.co", "beat.k8s.elastic.co", "agent.k8s.elastic.co")


def config_of(stage):
    return load_stage_with(stage).config


def elasticsearch(synthesis, stage):
    return find_object(synthesis, "Elasticsearch", "elasticsearch", config_of(stage).namespaces.logging)


def node_set(synthesis, stage):
    (only,) = elasticsearch(synthesis, stage)["spec"]["nodeSets"]
    return only


def eck_objects(synthesis):
    return [obj for obj in synthesis.kubernetes_objects() if obj["apiVersion"].split("/")[0] in ECK_GROUPS]


def setup_state(synthesis, stage):
    namespace = config_of(stage).namespaces.logging
    maps = [
        obj for obj in synthesis.kubernetes_objects()
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"].startswith("logging-setup-") and obj["metadata"]["namespace"] == namespace
    ]
    assert len(maps) == 1
    return json.loads(maps[0]["data"]["desired-state.json"])


def restricted_violations(pod_spec: dict) -> list[str]:
    """What Pod Security `restricted` would reject in a pod spec (the checks this platform relies on)."""
    problems = []
    pod_context = pod_spec.get("securityContext", {})
    if any("hostPath" in volume for volume in pod_spec.get("volumes", [])):
        problems.append("hostPath volume")
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod_spec.get(key):
            problems.append(key)
    for container in pod_spec.get("initContainers", []) + pod_spec.get("containers", []):
        context = container.get("securityContext", {})
        name = container["name"]
        if context.get("privileged"):
            problems.append(f"{name}: privileged")
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation not false")
        if "ALL" not in context.get("capabilities", {}).get("drop", []) or context.get("capabilities", {}).get("add"):
            problems.append(f"{name}: capabilities not dropped")
        if not (context.get("runAsNonRoot", pod_context.get("runAsNonRoot"))):
            problems.append(f"{name}: may run as root")
        if context.get("runAsUser", pod_context.get("runAsUser")) == 0:
            problems.append(f"{name}: runs as UID 0")
        seccomp = context.get("seccompProfile", pod_context.get("seccompProfile", {}))
        if seccomp.get("type") not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{name}: no seccomp profile")
    return problems


def assert_valid_pod_template(template: dict, version: str = "1.34.0") -> None:
    """ECK's CRDs accept any podTemplate; the core PodTemplateSpec schema (strict) is what the operator merges into."""
    kubernetes_validate.validate(
        {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "check"}, "template": template}, version, strict=True
    )


# -- Elasticsearch -----------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_elasticsearch_node_count_follows_the_stage(synthesized, stage):
    assert node_set(synthesized(stage), stage)["count"] == config_of(stage).logging.elasticsearch.node_count


def test_alpha_runs_one_elasticsearch_node_and_production_three(synthesized):
    assert node_set(synthesized("alpha"), "alpha")["count"] == 1
    assert node_set(synthesized("production"), "production")["count"] == 3


def test_production_spreads_elasticsearch_nodes_across_zones(synthesized):
    cluster = elasticsearch(synthesized("production"), "production")
    nodes = cluster["spec"]["nodeSets"][0]
    constraints = nodes["podTemplate"]["spec"]["topologySpreadConstraints"]
    assert constraints == [
        {
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"elasticsearch.k8s.elastic.co/cluster-name": "elasticsearch"}},
        }
    ]
    assert len(config_of("production").cluster.zones) == nodes["count"] == 3
    # shard replicas are kept out of their primary's zone as well
    assert nodes["config"]["cluster.routing.allocation.awareness.attributes"] == "k8s_node_name,zone"
    assert nodes["config"]["node.attr.zone"] == "${ZONE}"
    assert cluster["metadata"]["annotations"]["eck.k8s.elastic.co/downward-node-labels"] == "topology.kubernetes.io/zone"
    env = {item["name"]: item for item in nodes["podTemplate"]["spec"]["containers"][0]["env"]}
    assert env["ZONE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.annotations['topology.kubernetes.io/zone']"


def test_a_stage_without_zones_has_no_zone_constraint(synthesized):
    nodes = node_set(synthesized("local"), "local")
    assert "topologySpreadConstraints" not in nodes["podTemplate"]["spec"]
    assert "node.attr.zone" not in nodes["config"]


@pytest.mark.parametrize("stage", STAGES)
def test_elasticsearch_keeps_tls_and_needs_no_privileged_init_container(synthesized, stage):
    cluster = elasticsearch(synthesized(stage), stage)
    tls = cluster["spec"].get("http", {}).get("tls", {})
    assert tls.get("selfSignedCertificate", {}).get("disabled") is not True
    nodes = cluster["spec"]["nodeSets"][0]
    assert nodes["config"]["node.store.allow_mmap"] is False
    pod = nodes["podTemplate"]["spec"]
    assert not any(c.get("securityContext", {}).get("privileged") for c in pod.get("initContainers", []))
    kibana = find_object(synthesized(stage), "Kibana", "kibana")
    assert kibana["spec"].get("http", {}).get("tls", {}).get("selfSignedCertificate", {}).get("disabled") is not True


@pytest.mark.parametrize("stage", STAGES)
def test_elasticsearch_has_persistent_volumes_and_requests_and_limits(synthesized, stage):
    settings = config_of(stage).logging.elasticsearch
    nodes = node_set(synthesized(stage), stage)
    (claim,) = nodes["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "elasticsearch-data"
    assert claim["spec"]["resources"]["requests"]["storage"] == settings.storage_size
    resources = nodes["podTemplate"]["spec"]["containers"][0]["resources"]
    assert resources == settings.resources.as_kubernetes()
    assert elasticsearch(synthesized(stage), stage)["spec"]["volumeClaimDeletePolicy"] == "DeleteOnScaledownOnly"


@pytest.mark.parametrize("stage", STAGES)
def test_elasticsearch_kibana_and_setup_job_pods_satisfy_pod_security_restricted(synthesized, stage):
    synthesis = synthesized(stage)
    kibana = find_object(synthesis, "Kibana", "kibana")
    templates = {
        "elasticsearch": node_set(synthesis, stage)["podTemplate"],
        "kibana": kibana["spec"]["podTemplate"],
    }
    jobs = [obj for obj in synthesis.kubernetes_objects() if obj["kind"] == "Job" and obj["metadata"]["name"].startswith("logging-setup-")]
    assert len(jobs) == 1
    templates["setup job"] = jobs[0]["spec"]["template"]
    for name, template in templates.items():
        assert restricted_violations(template["spec"]) == [], name
        assert_valid_pod_template(template)


def test_logging_namespace_is_restricted_and_only_the_shipper_namespace_is_privileged(synthesized):
    config = config_of("production")
    synthesis = synthesized("production")
    labels = lambda name: find_object(synthesis, "Namespace", name)["metadata"]["labels"]  # noqa: E731
    assert labels(config.namespaces.logging)["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels(config.namespaces.workflow)["pod-security.kubernetes.io/enforce"] == "restricted"
    shipper = labels(config.logging.shipper.namespace)
    assert shipper["pod-security.kubernetes.io/enforce"] == "privileged"
    assert shipper["pod-security.kubernetes.io/audit"] == "baseline"
    assert config.logging.shipper.namespace not in config.namespaces.model_dump().values()


# -- custom resources against their CRDs -------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_every_eck_custom_resource_validates_against_its_crd_schema(synthesized, stage):
    objects = eck_objects(synthesized(stage))
    assert sorted(obj["kind"] for obj in objects) == ["Beat", "Elasticsearch", "Kibana"]
    for obj in objects:
        group, version = obj["apiVersion"].split("/")
        schema = json.loads((CRD_SCHEMAS / group / f"{obj['kind'].lower()}_{version}.json").read_text())
        errors = [error.message for error in jsonschema.Draft7Validator(schema).iter_errors(obj)]
        assert errors == [], f"{obj['kind']}: {errors}"


def test_a_crd_violation_would_be_caught(synthesized):
    """The schema check above is not vacuous: a wrong type in the spec fails it."""
    cluster = json.loads(json.dumps(elasticsearch(synthesized("alpha"), "alpha")))
    cluster["spec"]["nodeSets"][0]["count"] = "three"
    schema = json.loads((CRD_SCHEMAS / "elasticsearch.k8s.elastic.co" / "elasticsearch_v1.json").read_text())
    assert list(jsonschema.Draft7Validator(schema).iter_errors(cluster))


@pytest.mark.parametrize("stage", STAGES)
def test_eck_operator_chart_is_pinned_and_manages_only_the_logging_namespaces(synthesized, stage):
    config = config_of(stage)
    releases = [r for r in synthesized(stage).resources if r.type.startswith("kubernetes:helm.sh/") and r.name == "logging-eck-operator"]
    assert len(releases) == 1
    inputs = releases[0].inputs
    pinned = pinned_charts()["eck-operator"]
    assert (inputs["chart"], inputs["version"]) == ("eck-operator", pinned.version)
    assert inputs["repositoryOpts"]["repo"] == "https://helm.elastic.co"
    assert inputs["namespace"] == config.namespaces.logging
    assert inputs["values"]["managedNamespaces"] == [config.namespaces.logging, config.logging.shipper.namespace]
    assert inputs["values"]["installCRDs"] is True


# -- retention and snapshots ---------------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_setup_job_applies_the_stage_retention(synthesized, stage):
    state = setup_state(synthesized(stage), stage)
    days = config_of(stage).logging.retention.days
    assert state["ilmPolicies"][ILM_POLICY]["policy"]["phases"]["delete"]["min_age"] == f"{days}d"
    template = state["indexTemplates"]["platform-logs"]
    assert template["template"]["settings"]["index"]["lifecycle"]["name"] == ILM_POLICY


def test_setup_job_runs_the_repository_module_with_credentials_from_files(synthesized):
    config = config_of("production")
    (job,) = [o for o in synthesized("production").kubernetes_objects() if o["kind"] == "Job" and o["metadata"]["name"].startswith("logging-setup-")]
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["python", "-m", "components.logging.retention_job"]
    assert container["image"] == config.images.backup_job
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["ES_URL"] == "https://elasticsearch-es-http.logging.svc:9200"
    assert env["ES_PASSWORD_FILE"].startswith("/etc/") and env["ES_CA_FILE"].endswith("ca.crt")
    assert not any("PASSWORD" == name or name.endswith("_PASSWORD") for name in env)
    secrets = {v["secret"]["secretName"] for v in job["spec"]["template"]["spec"]["volumes"] if "secret" in v}
    assert secrets == {"elasticsearch-es-elastic-user", "elasticsearch-es-http-certs-public"}


def test_changing_retention_gives_the_setup_job_a_new_name_so_it_runs_again():
    def job_names(stage):
        return {o["metadata"]["name"] for o in synthesize(stage).kubernetes_objects() if o["kind"] == "Job" and o["metadata"]["name"].startswith("logging-setup-")}

    logging = section("alpha", "logging")
    logging["retention"]["days"] = 9
    assert job_names(load_stage_with("alpha")) != job_names(load_stage_with("alpha", {"workflow-platform:logging": logging}))


@pytest.mark.parametrize("stage", ["alpha", "staging", "production"])
def test_stages_in_aws_snapshot_into_their_snapshot_bucket(synthesized, stage):
    config = config_of(stage)
    synthesis = synthesized(stage)
    state = setup_state(synthesis, stage)
    repository = state["snapshotRepositories"][config.logging.snapshots.repository]
    assert repository["type"] == "s3"
    assert repository["settings"]["bucket"] == config.logging.snapshots.bucket.name != config.backup.bucket.name
    assert repository["settings"]["base_path"] == config.logging.snapshots.base_path
    slm = state["slmPolicies"]["platform-logs-snapshots"]
    assert slm["repository"] == config.logging.snapshots.repository
    assert slm["schedule"] == config.logging.snapshots.quartz_schedule()
    assert slm["retention"]["expire_after"] == f"{config.logging.snapshots.expire_after_days}d"
    # access through the pods' IAM role (IRSA), never through keys in a Secret
    (role,) = [r for r in synthesis.of_type("aws:iam/role:Role") if r.name == "logging-snapshot-role"]
    trust = json.loads(role.inputs["assumeRolePolicy"])
    condition = trust["Statement"][0]["Condition"]["StringEquals"]
    assert f"system:serviceaccount:{config.namespaces.logging}:elasticsearch" in condition.values()
    (policy,) = [r for r in synthesis.of_type("aws:iam/rolePolicy:RolePolicy") if r.name == "logging-snapshot-role-policy"]
    statements = json.loads(policy.inputs["policy"])["Statement"]
    assert any(s["Resource"] == "<computed:Bucket/logging-snapshots-bucket.arn>/elasticsearch/*" for s in statements)
    pod = node_set(synthesis, stage)["podTemplate"]["spec"]
    assert pod["serviceAccountName"] == "elasticsearch"
    env = {item["name"] for item in pod["containers"][0]["env"]}
    assert {"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"} <= env
    assert "secureSettings" not in elasticsearch(synthesis, stage)["spec"]


def test_a_stage_without_an_aws_bucket_takes_no_snapshots(synthesized):
    synthesis = synthesized("local")
    state = setup_state(synthesis, "local")
    assert state["snapshotRepositories"] == {} and state["slmPolicies"] == {}
    assert not [r for r in synthesis.resources if r.name.startswith("logging-snapshot-role")]


def test_snapshots_can_be_switched_off_in_a_stage_with_a_bucket():
    logging = section("alpha", "logging")
    logging["snapshots"]["enabled"] = False
    synthesis = synthesize(load_stage_with("alpha", {"workflow-platform:logging": logging}))
    assert not [r for r in synthesis.resources if r.name.startswith("logging-snapshot-role")]
    maps = [o for o in synthesis.kubernetes_objects() if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("logging-setup-")]
    assert json.loads(maps[0]["data"]["desired-state.json"])["slmPolicies"] == {}


def test_desired_state_keeps_one_index_replica_only_where_a_second_node_exists():
    replicas = {
        stage: desired_state(config_of(stage).logging, None)["indexTemplates"]["platform-logs"]["template"]["settings"]["index"]["number_of_replicas"]
        for stage in ("alpha", "production")
    }
    assert replicas == {"alpha": "0", "production": "1"}


def test_stack_outputs_name_the_logging_endpoints(synthesized):
    outputs = synthesized("production").outputs
    assert outputs["loggingNamespace"] == "logging"
    assert outputs["elasticsearchUrl"] == "https://elasticsearch-es-http.logging.svc:9200"
    assert outputs["kibanaService"] == "kibana-kb-http"


def test_the_setup_job_module_imports_nothing_but_the_standard_library():
    import subprocess
    import sys

    code = "import sys, components.logging.retention_job.converge; print(sorted(m for m in sys.modules if m.split('.')[0] in ('pulumi', 'pulumi_kubernetes', 'pydantic', 'yaml')))"
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(PROJECT_ROOT), capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
