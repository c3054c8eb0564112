"""The CrossGuard pack: each policy on a violating and a compliant resource; the whole pack over every stage.

The pack's entry point (`policies/__main__.py`) starts a policy server and is
never imported; these tests run the same policies from `workflow_policies.rules`.
"""

import copy
import dataclasses

import pytest

from tests.stagehelpers import STAGES, load_stage_with
from wfdeploy.render.gates.policy_pack import pack_module, validate_resources, validate_synthesis
from wfdeploy.render.synth import DeclaredResource

rules = pack_module("rules")
requirements_module = pack_module("requirements")

DIGEST = "sha256:" + "a" * 64
PRODUCTION = requirements_module.StageRequirements(
    stage="production",
    require_digest=True,
    load_balancer_services=frozenset(),
    node_port_services=frozenset(),
    require_workflow_availability=True,
    workflow_namespace="workflow",
)
LAPTOP = dataclasses.replace(PRODUCTION, stage="local", require_digest=False, require_workflow_availability=False)


def resource(type_: str, name: str, props: dict) -> DeclaredResource:
    return DeclaredResource(type=type_, name=name, parent_type="", custom=True, remote=False, inputs=props)


def violations(resources: list[DeclaredResource], policy: str, requirements=PRODUCTION) -> list[str]:
    found = validate_resources(requirements.stage, resources, rules.build_policies(lambda urn: requirements))
    return [v.message for v in found if v.policy == policy]


def container(**overrides) -> dict:
    probe = {"httpGet": {"path": "/healthz", "port": 8080}}
    base = {
        "name": "app",
        "image": f"ghcr.io/example/app:1.0@{DIGEST}",
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "128Mi"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "readinessProbe": probe,
        "livenessProbe": probe,
    }
    return {**base, **overrides}


def deployment(name: str = "app", namespace: str = "apps", pod: dict | None = None, **container_overrides) -> DeclaredResource:
    spec = {"containers": [container(**container_overrides)], **(pod or {})}
    props = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"template": {"metadata": {"labels": {"app": name}}, "spec": spec}},
    }
    return resource("kubernetes:apps/v1:Deployment", f"{namespace}-{name}", props)


def job(**container_overrides) -> DeclaredResource:
    props = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "once", "namespace": "apps"},
        "spec": {"template": {"spec": {"containers": [container(**container_overrides)], "restartPolicy": "Never"}}},
    }
    return resource("kubernetes:batch/v1:Job", "once", props)


# -- Pod Security `restricted` -----------------------------------------------------------------------


def test_restricted_pod_template_passes():
    assert violations([deployment()], "pod-security-restricted") == []


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"securityContext": {"runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}}, "allowPrivilegeEscalation"),
        ({"securityContext": {**container()["securityContext"], "privileged": True}}, "privileged"),
        ({"securityContext": {**container()["securityContext"], "capabilities": {"drop": ["NET_RAW"]}}}, "drop must include ALL"),
        ({"securityContext": {**container()["securityContext"], "capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]}}}, "capabilities.add"),
        ({"securityContext": {**container()["securityContext"], "runAsNonRoot": False}}, "runAsNonRoot"),
        ({"securityContext": {**container()["securityContext"], "seccompProfile": {"type": "Unconfined"}}}, "seccompProfile"),
        ({"ports": [{"containerPort": 80, "hostPort": 80}]}, "hostPort"),
    ],
)
def test_container_outside_restricted_is_a_violation(change, expected):
    found = violations([deployment(**change)], "pod-security-restricted")
    assert found and expected in found[0]


def test_host_namespaces_and_host_path_volumes_are_violations():
    pod = {"hostNetwork": True, "volumes": [{"name": "logs", "hostPath": {"path": "/var/log"}}]}
    found = " ".join(violations([deployment(pod=pod)], "pod-security-restricted"))
    assert "hostNetwork" in found and "hostPath" in found


def test_cronjob_pod_templates_are_checked_too():
    props = {
        "metadata": {"name": "nightly", "namespace": "apps"},
        "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [container(securityContext={})]}}}}},
    }
    found = violations([resource("kubernetes:batch/v1:CronJob", "nightly", props)], "pod-security-restricted")
    assert any("CronJob apps/nightly" in message for message in found)


# -- requests, limits, probes, images ---------------------------------------------------------------


def test_container_without_limits_is_a_violation():
    assert violations([deployment()], "container-resources") == []
    found = violations([deployment(resources={"requests": {"cpu": "100m", "memory": "64Mi"}})], "container-resources")
    assert found == ["Deployment apps/app containers[app]: resources.limits lacks cpu, memory"]


def test_long_running_container_without_liveness_probe_is_a_violation():
    assert violations([deployment()], "long-running-probes") == []
    no_liveness = container()
    del no_liveness["livenessProbe"]
    found = violations([deployment(livenessProbe=None)], "long-running-probes")
    assert found == ["Deployment apps/app containers[app]: a long-running container needs a livenessProbe"]


def test_run_to_completion_jobs_need_no_probes():
    assert violations([job(readinessProbe=None, livenessProbe=None)], "long-running-probes") == []


@pytest.mark.parametrize("image", ["ghcr.io/example/app:latest", "ghcr.io/example/app"])
def test_latest_or_missing_tag_is_a_violation_in_every_stage(image):
    assert any("no fixed tag" in m for m in violations([deployment(image=image)], "pinned-images", LAPTOP))


def test_tag_only_image_is_a_violation_only_where_the_stage_requires_digests():
    tagged = deployment(image="ghcr.io/example/app:1.0")
    assert violations([tagged], "pinned-images", LAPTOP) == []
    assert violations([tagged], "pinned-images", PRODUCTION) == [
        "Deployment apps/app containers[app]: image 'ghcr.io/example/app:1.0' must be pinned by digest in this stage"
    ]
    assert violations([deployment()], "pinned-images", PRODUCTION) == []


# -- exposure ------------------------------------------------------------------------------------------


def service(service_type: str) -> DeclaredResource:
    props = {"metadata": {"name": "web", "namespace": "apps"}, "spec": {"type": service_type, "ports": [{"port": 80}]}}
    return resource("kubernetes:core/v1:Service", "web", props)


@pytest.mark.parametrize("service_type, key", [("LoadBalancer", "load_balancer_services"), ("NodePort", "node_port_services")])
def test_exposed_service_is_a_violation_unless_the_stage_allows_it(service_type, key):
    assert violations([service(service_type)], "no-exposed-services")
    allowed = dataclasses.replace(PRODUCTION, **{key: frozenset({"apps/web"})})
    assert violations([service(service_type)], "no-exposed-services", allowed) == []
    assert violations([service("ClusterIP")], "no-exposed-services") == []


def test_an_envoy_proxy_asking_for_an_exposed_service_needs_the_stage_to_allow_it():
    props = {
        "metadata": {"name": "edge", "namespace": "gateway"},
        "spec": {"provider": {"type": "Kubernetes", "kubernetes": {"envoyService": {"type": "NodePort"}}}},
    }
    proxy = resource("kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy", "edge", props)
    assert violations([proxy], "no-exposed-services") == [
        "EnvoyProxy gateway/edge exposes a NodePort Service; only network.nodePortServices may ([])"
    ]
    allowed = dataclasses.replace(PRODUCTION, node_port_services=frozenset({"gateway/edge"}))
    assert violations([proxy], "no-exposed-services", allowed) == []


# -- plain-text secrets ------------------------------------------------------------------------------


def config_map(data: dict) -> DeclaredResource:
    return resource("kubernetes:core/v1:ConfigMap", "settings", {"metadata": {"name": "settings", "namespace": "apps"}, "data": data})


@pytest.mark.parametrize(
    "data",
    [
        {"DATABASE_PASSWORD": "hunter2"},  # pragma: allowlist secret (a fake the policy must catch)
        {"DATABASE_URL": "postgres://app:hunter2@db:5432/app"},  # pragma: allowlist secret (a fake the policy must catch)
        {"key.pem": "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----"},  # pragma: allowlist secret (a fake the policy must catch)
        {"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE"},  # pragma: allowlist secret (a fake the policy must catch)
        {"WEBHOOK": "<redacted>"},
    ],
)
def test_secret_values_in_a_config_map_are_violations(data):
    assert violations([config_map(data)], "no-plaintext-secrets")


def test_ordinary_settings_and_secret_references_in_a_config_map_pass():
    data = {"LOG_LEVEL": "info", "DATABASE_HOST": "db.svc", "PASSWORD_FILE": "/etc/creds/password", "TOKEN_TTL": "5m"}
    assert violations([config_map(data)], "no-plaintext-secrets") == []


def test_literal_secret_env_is_a_violation_but_a_secret_reference_passes():
    literal = deployment(env=[{"name": "API_TOKEN", "value": "abc123"}])
    referenced = deployment(env=[{"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}}}])
    assert violations([literal], "no-plaintext-secrets") == [
        "Deployment apps/app containers[app]: env 'API_TOKEN' is a literal secret; use valueFrom.secretKeyRef"
    ]
    assert violations([referenced], "no-plaintext-secrets") == []


# -- S3 buckets ----------------------------------------------------------------------------------------


def hardened_bucket(**overrides) -> list[DeclaredResource]:
    parts = {
        "bucket": resource(rules.BUCKET, "backups", {"bucket": "backups-example"}),
        "versioning": resource(rules.BUCKET_VERSIONING, "backups-versioning", {"bucket": "backups-id", "versioningConfiguration": {"status": "Enabled"}}),
        "encryption": resource(
            rules.BUCKET_ENCRYPTION,
            "backups-encryption",
            {"bucket": "backups-id", "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]},
        ),
        "public": resource(rules.BUCKET_PUBLIC_ACCESS_BLOCK, "backups-public", {"bucket": "backups-id", **{f: True for f in rules.PUBLIC_ACCESS_FLAGS}}),
    }
    parts.update(overrides)
    return [part for part in parts.values() if part is not None]


def test_versioned_encrypted_private_bucket_passes():
    assert violations(hardened_bucket(), "s3-bucket-hardened") == []
    assert violations(hardened_bucket(), "s3-bucket-settings") == []


@pytest.mark.parametrize("missing, expected", [("versioning", "BucketVersioning"), ("encryption", "ServerSideEncryption"), ("public", "PublicAccessBlock")])
def test_bucket_without_a_hardening_resource_is_a_violation(missing, expected):
    found = violations(hardened_bucket(**{missing: None}), "s3-bucket-hardened")
    assert len(found) == 1 and expected in found[0]


def test_weakened_bucket_settings_are_violations():
    open_block = resource(rules.BUCKET_PUBLIC_ACCESS_BLOCK, "backups-public", {"bucket": "backups-id", "blockPublicAcls": True})
    suspended = resource(rules.BUCKET_VERSIONING, "backups-versioning", {"bucket": "backups-id", "versioningConfiguration": {"status": "Suspended"}})
    found = violations(hardened_bucket(public=open_block, versioning=suspended), "s3-bucket-settings")
    assert any("blockPublicPolicy" in m for m in found) and any("Suspended" in m for m in found)
    assert len(violations(hardened_bucket(public=open_block, versioning=suspended), "s3-bucket-hardened")) == 2


# -- stack policies ------------------------------------------------------------------------------------


def namespace(name: str) -> DeclaredResource:
    return resource("kubernetes:core/v1:Namespace", f"ns-{name}", {"metadata": {"name": name}})


def network_policy(namespace_name: str, spec: dict) -> DeclaredResource:
    props = {"metadata": {"name": "default-deny", "namespace": namespace_name}, "spec": spec}
    return resource("kubernetes:networking.k8s.io/v1:NetworkPolicy", f"{namespace_name}-deny", props)


def test_namespace_without_default_deny_is_a_violation():
    deny = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    assert violations([namespace("apps"), network_policy("apps", deny)], "namespace-default-deny") == []
    found = violations([namespace("apps"), namespace("other"), network_policy("apps", deny)], "namespace-default-deny")
    assert len(found) == 1 and "'other'" in found[0]


@pytest.mark.parametrize(
    "spec",
    [
        {"podSelector": {"matchLabels": {"app": "x"}}, "policyTypes": ["Ingress", "Egress"]},
        {"podSelector": {}, "policyTypes": ["Ingress"]},
        {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "egress": [{}]},
    ],
)
def test_partial_deny_policies_do_not_count_as_default_deny(spec):
    assert violations([namespace("apps"), network_policy("apps", spec)], "namespace-default-deny")


def workflow_service(replicas_min: int = 3, with_pdb: bool = True) -> list[DeclaredResource]:
    labels = {"app.kubernetes.io/name": "workflow-service", "app.kubernetes.io/part-of": "workflow-platform"}
    found = [
        deployment("workflow-service", "workflow"),
        resource(
            "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
            "hpa",
            {"metadata": {"name": "workflow-service", "namespace": "workflow"}, "spec": {"minReplicas": replicas_min, "scaleTargetRef": {"kind": "Deployment", "name": "workflow-service"}}},
        ),
    ]
    found[0].inputs["spec"]["template"]["metadata"]["labels"] = labels
    if with_pdb:
        pdb = {"metadata": {"name": "workflow-service", "namespace": "workflow"}, "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels}}}
        found.append(resource("kubernetes:policy/v1:PodDisruptionBudget", "pdb", pdb))
    return found


def test_production_workflow_service_needs_an_hpa_and_a_pdb():
    assert violations(workflow_service(), "workflow-service-availability") == []
    assert violations(workflow_service(with_pdb=False), "workflow-service-availability") == [
        "the workflow service needs a PodDisruptionBudget selecting its pods"
    ]
    assert violations(workflow_service(replicas_min=1), "workflow-service-availability") == [
        "the workflow service needs a HorizontalPodAutoscaler with minReplicas >= 2"
    ]


def test_stages_that_need_not_be_highly_available_skip_the_availability_policy():
    assert violations(workflow_service(replicas_min=1, with_pdb=False), "workflow-service-availability", LAPTOP) == []


# -- the pack over the real program --------------------------------------------------------------------


def test_every_policy_is_mandatory():
    policies = rules.build_policies(lambda urn: PRODUCTION)
    assert len({policy.name for policy in policies}) == len(policies) >= 10
    assert all(policy.enforcement_level == rules.MANDATORY for policy in policies)


def test_requirements_come_from_the_stage_named_in_the_urn():
    urn = "urn:pulumi:production::workflow-platform::kubernetes:apps/v1:Deployment::x"
    assert requirements_module.stage_of_urn(urn) == "production"
    assert requirements_module.requirements_of_urn(urn).require_digest is True
    assert requirements_module.requirements_of_stage("local").require_digest is False


@pytest.mark.parametrize("stage", STAGES)
def test_whole_pack_over_every_stage_finds_no_violation(stage, synthesized):
    requirements = requirements_module.StageRequirements.from_config(load_stage_with(stage).config)
    assert [f"{v.policy}: {v.subject}: {v.message}" for v in validate_synthesis(synthesized(stage), requirements)] == []


def test_the_pack_catches_a_violation_in_a_synthesized_stage(synthesized):
    synthesis = copy.deepcopy(synthesized("production"))
    (workflow,) = [r for r in synthesis.resources if r.type == "kubernetes:apps/v1:Deployment" and r.inputs["metadata"]["name"] == "workflow-service"]
    workflow.inputs["spec"]["template"]["spec"]["containers"][0]["image"] = "ghcr.io/example/workflow-service:latest"
    found = validate_synthesis(synthesis, requirements_module.StageRequirements.from_config(load_stage_with("production").config))
    assert {v.policy for v in found} == {"pinned-images"}


def test_the_pack_loads_the_way_the_pulumi_cli_runs_it():
    """From policies/ with its own folder on sys.path; the entry point compiles but is never run here."""
    import subprocess
    import sys

    from wfdeploy.render.gates.policy_pack import POLICIES_DIR

    entry_point = POLICIES_DIR / "__main__.py"
    compile(entry_point.read_text(), str(entry_point), "exec")
    script = "import workflow_policies.rules as r; print(len(r.build_policies()))"
    completed = subprocess.run([sys.executable, "-c", script], cwd=POLICIES_DIR, capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert int(completed.stdout) == len(rules.build_policies(lambda urn: PRODUCTION))
    assert "virtualenv: ../.venv" in (POLICIES_DIR / "PulumiPolicy.yaml").read_text()


def test_workloads_inside_a_helm_chart_are_left_to_their_namespace_admission():
    chart_child = deployment(securityContext={})
    chart_child.parent_type = "kubernetes:helm.sh/v4:Chart"
    assert violations([chart_child], "pod-security-restricted") == []
    assert violations([deployment(securityContext={})], "pod-security-restricted")
