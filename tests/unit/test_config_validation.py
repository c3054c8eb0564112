"""Bad stage configuration stops before any resource is declared, naming every offending key."""

import json

import pytest

from components.config import ConfigError, parse_stage, read_stack_file
from tests.stagehelpers import STAGES, load_stage_with, passphrase_ciphertext, section, stack_values

P = "workflow-platform"


def problems_of(stage, overrides=None, drop=()):
    with pytest.raises(ConfigError) as caught:
        load_stage_with(stage, overrides, drop)
    return {problem.path: problem.message for problem in caught.value.problems}


@pytest.mark.parametrize("stage", STAGES)
def test_every_stack_file_in_the_repository_is_valid(stage):
    assert load_stage_with(stage).config.stage == stage


def test_unknown_key_is_rejected_with_its_path():
    service = section("alpha", "service") | {"replica": 2}
    problems = problems_of("alpha", {f"{P}:service": service})
    assert problems == {f"{P}:service.replica": "unknown key"}


def test_unknown_top_level_section_is_rejected():
    problems = problems_of("alpha", {f"{P}:servce": {"replicas": 2}})
    assert f"{P}:servce" in problems


def test_wrong_type_names_the_key_and_the_value():
    service = section("alpha", "service") | {"replicas": "three"}
    problems = problems_of("alpha", {f"{P}:service": service})
    assert "integer" in problems[f"{P}:service.replicas"]
    assert "'three'" in problems[f"{P}:service.replicas"]


def test_negative_replica_count_is_out_of_range():
    service = section("alpha", "service") | {"replicas": -1}
    problems = problems_of("alpha", {f"{P}:service": service})
    assert "greater than or equal to 1" in problems[f"{P}:service.replicas"]


@pytest.mark.parametrize(
    "image",
    ["ghcr.io/example/Workflow:1.0", "ghcr.io/example/workflow", "ghcr.io/example/workflow@sha256:abc", ":1.0"],
)
def test_malformed_image_reference_is_rejected(image):
    images = section("local", "images") | {"workflowService": image}
    problems = problems_of("local", {f"{P}:images": images})
    assert "image reference" in problems[f"{P}:images.workflowService"]


def test_latest_tag_is_rejected_even_where_tags_are_allowed():
    images = section("local", "images") | {"workflowService": "localhost/workflow-service:latest"}
    problems = problems_of("local", {f"{P}:images": images})
    assert "latest" in problems[f"{P}:images.workflowService"]


def test_production_requires_digest_pinned_image():
    images = section("production", "images") | {"workflowService": "ghcr.io/example/workflow-service:1.4.2"}
    problems = problems_of("production", {f"{P}:images": images})
    assert "digest-pinned" in problems[f"{P}:images.workflowService"]


def test_production_cannot_allow_tags():
    images = section("production", "images") | {"allowTags": True}
    problems = problems_of("production", {f"{P}:images": images})
    assert "must pin every image by digest" in problems[f"{P}:images.allowTags"]


def test_a_stage_may_allow_tags_through_its_stack_file():
    images = section("alpha", "images") | {"allowTags": True, "workflowService": "ghcr.io/example/workflow-service:1.4.2"}
    loaded = load_stage_with("alpha", {f"{P}:images": images})
    assert loaded.config.images.workflow_service.endswith(":1.4.2")


@pytest.mark.parametrize("schedule", ["61 * * * *", "* * *", "*/0 * * * *", "every hour"])
def test_malformed_cron_expression_is_rejected(schedule):
    backup = section("alpha", "backup") | {"schedule": schedule}
    problems = problems_of("alpha", {f"{P}:backup": backup})
    assert "cron" in problems[f"{P}:backup.schedule"] or "expected" in problems[f"{P}:backup.schedule"]


@pytest.mark.parametrize("duration", ["1 hour", "-5m", "0s", "5x", ""])
def test_malformed_duration_is_rejected(duration):
    backup = section("alpha", "backup") | {"rpo": duration}
    problems = problems_of("alpha", {f"{P}:backup": backup})
    assert "duration" in problems[f"{P}:backup.rpo"]


@pytest.mark.parametrize("quantity", ["1 CPU", "-1", "0"])
def test_malformed_cpu_quantity_is_rejected(quantity):
    service = section("alpha", "service")
    service["resources"]["cpuRequest"] = quantity
    problems = problems_of("alpha", {f"{P}:service": service})
    assert "CPU quantity" in problems[f"{P}:service.resources.cpuRequest"]


def test_requests_above_limits_are_rejected():
    service = section("alpha", "service")
    service["resources"]["memoryRequest"] = "4Gi"
    problems = problems_of("alpha", {f"{P}:service": service})
    assert "exceeds memoryLimit" in problems[f"{P}:service.resources"]


def test_unsupported_kubernetes_version_is_rejected():
    cluster = section("alpha", "cluster") | {"kubernetesVersion": "1.20"}
    problems = problems_of("alpha", {f"{P}:cluster": cluster})
    assert "expected one of" in problems[f"{P}:cluster.kubernetesVersion"]


def test_missing_required_section_is_reported():
    problems = problems_of("alpha", drop=(f"{P}:service",))
    assert problems[f"{P}:service"] == "required key is missing"


def test_missing_required_key_inside_a_section_is_reported():
    cluster = section("alpha", "cluster")
    del cluster["context"]
    problems = problems_of("alpha", {f"{P}:cluster": cluster})
    assert problems[f"{P}:cluster.context"] == "required key is missing"


def test_all_problems_are_reported_at_once():
    service = section("alpha", "service") | {"replicas": 0, "port": 80}
    cluster = section("alpha", "cluster") | {"kubernetesVersion": "2.0"}
    problems = problems_of("alpha", {f"{P}:service": service, f"{P}:cluster": cluster})
    assert {f"{P}:service.replicas", f"{P}:service.port", f"{P}:cluster.kubernetesVersion"} <= set(problems)


def test_plain_value_where_a_secret_is_required_is_rejected_without_echoing_it():
    values, secret_keys = stack_values("alpha")
    values = dict(values, **{f"{P}:pagerRoutingKey": "R0UTING-KEY-IN-PLAIN-TEXT"})
    with pytest.raises(ConfigError) as caught:
        parse_stage("alpha", values, secret_keys, source="test")
    message = str(caught.value)
    assert f"{P}:pagerRoutingKey: must be a secret" in message
    assert "R0UTING-KEY-IN-PLAIN-TEXT" not in message


def test_secure_value_in_the_stack_file_is_accepted_and_redacted_offline(tmp_path):
    original = (stack_values("alpha")[0])
    stack_file = tmp_path / "Pulumi.alpha.yaml"
    document = {"config": {key: json.loads(value) if value.startswith("{") else value for key, value in original.items()}}
    document["config"][f"{P}:pagerRoutingKey"] = {"secure": passphrase_ciphertext()}
    stack_file.write_text(json.dumps(document))
    values, secret_keys = read_stack_file(stack_file)
    loaded = parse_stage("alpha", values, secret_keys, source=str(stack_file), offline=True)
    assert loaded.secrets.get("pagerRoutingKey") == "<redacted>"


def test_stage_key_in_the_stack_file_is_rejected():
    problems = problems_of("alpha", {f"{P}:stage": "production"})
    assert "stack name" in problems[f"{P}:stage"]


def test_error_message_lists_the_source_and_every_problem():
    service = section("alpha", "service") | {"replicas": 0, "maxReplicas": 0}
    with pytest.raises(ConfigError) as caught:
        load_stage_with("alpha", {f"{P}:service": service})
    text = str(caught.value)
    assert text.startswith("test:alpha: 2 configuration problems:")
    assert f"  - {P}:service.maxReplicas:" in text and f"  - {P}:service.replicas:" in text


def test_other_namespaces_are_left_to_their_providers():
    values, secret_keys = stack_values("alpha")
    loaded = parse_stage("alpha", dict(values, **{"kubernetes:context": "x"}), secret_keys, source="test")
    assert loaded.config.stage == "alpha"


def test_broken_stack_file_is_reported_by_file(tmp_path):
    stack_file = tmp_path / "Pulumi.alpha.yaml"
    stack_file.write_text("config: [unclosed")
    with pytest.raises(ConfigError) as caught:
        read_stack_file(stack_file)
    assert str(stack_file) in str(caught.value) and "not valid YAML" in str(caught.value)
