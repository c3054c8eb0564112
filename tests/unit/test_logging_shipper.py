"""The log shipper (Filebeat via ECK): inputs, JSON decoding, Kubernetes metadata and output per stage."""

from __future__ import annotations

import fnmatch
import re

import pytest

from components.logging.retention import DATA_STREAM, INDEX_PATTERN
from components.logging.shipper import ECK_BEAT_WRITABLE_INDICES
from tests.stagehelpers import STAGES, find_object, load_stage_with, section
from tests.unit.test_logging_stack import assert_valid_pod_template, restricted_violations
from wfdeploy.render.synth import synthesize


def beat(synthesis, stage):
    config = load_stage_with(stage).config
    return find_object(synthesis, "Beat", "filebeat", config.logging.shipper.namespace)


def processor(config: dict, name: str) -> dict:
    matches = [item[name] for item in config["processors"] if name in item]
    assert len(matches) == 1, f"expected one {name} processor"
    return matches[0]


@pytest.mark.parametrize("stage", STAGES)
def test_shipper_is_a_filebeat_daemonset_reading_every_container_log(synthesized, stage):
    spec = beat(synthesized(stage), stage)["spec"]
    assert spec["type"] == "filebeat" and "daemonSet" in spec and "deployment" not in spec
    (entry,) = spec["config"]["filebeat.inputs"]
    assert entry["type"] == "filestream"
    assert entry["paths"] == ["/var/log/containers/*.log"]
    assert entry["prospector.scanner.symlinks"] is True
    assert {"container": {"stream": "all", "format": "auto"}} in entry["parsers"]
    mounts = {m["mountPath"]: m for m in spec["daemonSet"]["podTemplate"]["spec"]["containers"][0]["volumeMounts"]}
    # /var/log/containers holds symlinks into /var/log/pods: both must be visible, read-only
    assert mounts["/var/log/containers"]["readOnly"] and mounts["/var/log/pods"]["readOnly"]


@pytest.mark.parametrize("stage", STAGES)
def test_shipper_decodes_only_the_workflow_service_json_lines(synthesized, stage):
    config = load_stage_with(stage).config
    decode = processor(beat(synthesized(stage), stage)["spec"]["config"], "decode_json_fields")
    assert decode["fields"] == ["message"] and decode["target"] == ""
    assert decode["overwrite_keys"] is True and decode["expand_keys"] is True
    assert decode["add_error_key"] is False
    conditions = decode["when"]["and"]
    assert {"equals": {"kubernetes.namespace": config.namespaces.workflow}} in conditions
    (looks_like_json,) = [c["regexp"]["message"] for c in conditions if "regexp" in c]
    pattern = re.compile(looks_like_json)
    ecs_line = '{"@timestamp":"2026-01-01T00:00:00Z","log.level":"critical","message":"run failed","error.type":"Timeout","trace.id":"abc"}'
    assert pattern.search(ecs_line) and pattern.search("  " + ecs_line)
    # a plain line (a stack trace, a panic) is kept as the plain `message`
    assert not pattern.search("Traceback (most recent call last):")
    assert not pattern.search("2026-01-01 ERROR something [with {braces}]")


def test_workflow_namespace_change_follows_into_the_decoder():
    namespaces = {"workflow": "flows"}
    synthesis = synthesize(load_stage_with("alpha", {"workflow-platform:namespaces": namespaces}))
    decode = processor(beat(synthesis, "alpha")["spec"]["config"], "decode_json_fields")
    assert {"equals": {"kubernetes.namespace": "flows"}} in decode["when"]["and"]


@pytest.mark.parametrize("stage", STAGES)
def test_shipper_adds_kubernetes_metadata_before_decoding(synthesized, stage):
    config = beat(synthesized(stage), stage)["spec"]["config"]
    names = [next(iter(item)) for item in config["processors"]]
    assert names.index("add_kubernetes_metadata") < names.index("decode_json_fields")
    metadata = processor(config, "add_kubernetes_metadata")
    assert metadata["host"] == "${NODE_NAME}"
    assert metadata["matchers"] == [{"logs_path": {"logs_path": "/var/log/containers/"}}]
    env = beat(synthesized(stage), stage)["spec"]["daemonSet"]["podTemplate"]["spec"]["containers"][0]["env"]
    assert {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}} in env


@pytest.mark.parametrize("stage", STAGES)
def test_shipper_writes_to_the_stage_cluster_under_the_retention_template(synthesized, stage):
    config = load_stage_with(stage).config
    spec = beat(synthesized(stage), stage)["spec"]
    assert spec["elasticsearchRef"] == {"name": "elasticsearch", "namespace": config.namespaces.logging}
    assert spec["version"] == config.logging.version
    assert spec["config"]["output.elasticsearch"]["index"] == DATA_STREAM
    assert re.fullmatch(INDEX_PATTERN.replace("*", ".*"), DATA_STREAM)
    # Filebeat must not install its own template and ILM policy over the setup job's
    assert spec["config"]["setup.ilm.enabled"] is False and spec["config"]["setup.template.enabled"] is False


@pytest.mark.parametrize("stage", STAGES)
def test_shipper_writes_only_where_the_role_eck_gives_its_user_allows(synthesized, stage):
    # the Beat's elasticsearchRef user holds ECK's filebeat role only: a bulk write to another index is refused
    index = beat(synthesized(stage), stage)["spec"]["config"]["output.elasticsearch"]["index"]
    assert any(fnmatch.fnmatchcase(index, pattern) for pattern in ECK_BEAT_WRITABLE_INDICES), index
    # every index the template can create lies inside the role too
    assert any(fnmatch.fnmatchcase(INDEX_PATTERN, pattern) for pattern in ECK_BEAT_WRITABLE_INDICES), INDEX_PATTERN


@pytest.mark.parametrize("stage", STAGES)
def test_shipper_starts_only_after_the_setup_job_installed_the_template(synthesized, stage):
    (declared,) = [r for r in synthesized(stage).resources if r.type.endswith(":Beat") and r.name == "logging-filebeat"]
    assert "logging-setup" in declared.depends_on


def test_excluded_namespaces_are_dropped():
    logging = section("alpha", "logging")
    logging["shipper"]["excludeNamespaces"] = ["kube-system", "noisy"]
    synthesis = synthesize(load_stage_with("alpha", {"workflow-platform:logging": logging}))
    drop = processor(beat(synthesis, "alpha")["spec"]["config"], "drop_event")
    assert drop["when"]["or"] == [{"equals": {"kubernetes.namespace": "kube-system"}}, {"equals": {"kubernetes.namespace": "noisy"}}]


@pytest.mark.parametrize("stage", STAGES)
def test_shipper_is_as_tight_as_reading_host_logs_allows(synthesized, stage):
    template = beat(synthesized(stage), stage)["spec"]["daemonSet"]["podTemplate"]
    assert_valid_pod_template(template)
    # host paths and UID 0 are the only departures from `restricted`, and the reason for its own namespace
    remaining = [p for p in restricted_violations(template["spec"]) if p not in ("hostPath volume", "filebeat: may run as root", "filebeat: runs as UID 0")]
    assert remaining == []
    context = template["spec"]["containers"][0]["securityContext"]
    assert context["readOnlyRootFilesystem"] is True and context["privileged"] is False
    assert not template["spec"].get("hostNetwork")


def test_shipper_reads_the_kubernetes_api_with_read_only_cluster_permissions(synthesized):
    synthesis = synthesized("production")
    role = find_object(synthesis, "ClusterRole", "logging-shipper-filebeat")
    verbs = {verb for rule in role["rules"] for verb in rule["verbs"]}
    assert verbs == {"get", "list", "watch"}
    binding = find_object(synthesis, "ClusterRoleBinding", "logging-shipper-filebeat")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "filebeat", "namespace": "logging-shipper"}]
