"""Every image the platform's own workloads and ECK resources run comes from `images.*`, so the digest rule covers it."""

from __future__ import annotations

import pytest

from components.config import ConfigError
from components.config.types import is_digest_pinned
from tests.stagehelpers import PROMOTION_CHAIN, STAGES, load_stage_with, section

P = "workflow-platform"
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", "ReplicaSet"}
ECK = {("Elasticsearch", "elasticsearch"): "elasticsearch", ("Kibana", "kibana"): "kibana", ("Beat", "filebeat"): "filebeat"}


def _pod_spec(obj: dict) -> dict:
    spec = obj["spec"]
    if obj["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"] if obj["kind"] != "Pod" else spec


def _workload_images(synthesis) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for obj in synthesis.kubernetes_objects():
        if obj["kind"] in WORKLOAD_KINDS:
            pod = _pod_spec(obj)
            for container in pod.get("initContainers", []) + pod.get("containers", []):
                found.setdefault(container["image"], set()).add(f"{obj['kind']}/{obj['metadata']['name']}")
    return found


@pytest.mark.parametrize("stage", STAGES)
def test_eck_resources_run_the_images_of_the_stage(synthesized, stage):
    config = load_stage_with(stage).config
    for (kind, name), key in ECK.items():
        (obj,) = [o for o in synthesized(stage).kubernetes_objects() if o["kind"] == kind and o["metadata"]["name"] == name]
        assert obj["spec"]["image"] == getattr(config.images, key)
        assert obj["spec"]["version"] == config.logging.version


@pytest.mark.parametrize("stage", STAGES)
def test_every_workload_image_is_declared_under_images(synthesized, stage):
    declared = {value for name, value in load_stage_with(stage).config.images if name != "allow_tags" and value}
    undeclared = {image: users for image, users in _workload_images(synthesized(stage)).items() if image not in declared}
    assert not undeclared, f"images not taken from images.*: {undeclared}"


@pytest.mark.parametrize("stage", PROMOTION_CHAIN)
def test_digest_pinned_stages_run_nothing_by_tag(synthesized, stage):
    synthesis = synthesized(stage)
    images = set(_workload_images(synthesis))
    images |= {o["spec"]["image"] for o in synthesis.kubernetes_objects() if (o["kind"], o["metadata"]["name"]) in ECK}
    assert images and all(is_digest_pinned(image) for image in images), sorted(images)


def test_production_refuses_a_tag_only_elastic_stack_image():
    images = section("production", "images")
    images["kibana"] = "docker.elastic.co/kibana/kibana:9.2.0"
    with pytest.raises(ConfigError) as caught:
        load_stage_with("production", {f"{P}:images": images})
    assert "digest" in {p.path: p.message for p in caught.value.problems}[f"{P}:images.kibana"]


def test_an_elastic_stack_image_of_another_version_is_refused():
    images = section("alpha", "images")
    images["elasticsearch"] = images["elasticsearch"].replace(":9.2.0@", ":9.1.0@")
    with pytest.raises(ConfigError) as caught:
        load_stage_with("alpha", {f"{P}:images": images})
    assert "logging.version" in {p.path: p.message for p in caught.value.problems}[f"{P}:images.elasticsearch"]


def test_the_in_cluster_object_store_runs_the_declared_image(synthesized):
    config = load_stage_with("local").config
    assert config.backup.store == "in-cluster"
    pods = [o for o in synthesized("local").kubernetes_objects() if o["kind"] in WORKLOAD_KINDS
            and any(c["image"] == config.images.backup_object_store for c in _pod_spec(o)["containers"])]
    assert pods, "the in-cluster object store does not run images.backupObjectStore"


def test_placeholder_digests_must_name_image_keys():
    images = section("production", "images") | {"placeholderDigests": ["postgres", "postgress"]}
    with pytest.raises(ConfigError) as caught:
        load_stage_with("production", {f"{P}:images": images})
    (problem,) = caught.value.problems
    assert problem.path == f"{P}:images"
    assert "'postgress' is not an image key" in problem.message and "redisExporter" in problem.message


def test_placeholder_digests_name_each_image_once_and_only_set_ones():
    twice = section("production", "images") | {"placeholderDigests": ["redis", "redis"]}
    with pytest.raises(ConfigError, match="each image key at most once"):
        load_stage_with("production", {f"{P}:images": twice})
    unset = section("production", "images") | {"placeholderDigests": ["backupObjectStore"]}
    with pytest.raises(ConfigError, match="'backupObjectStore' names an image this stage does not set"):
        load_stage_with("production", {f"{P}:images": unset})


@pytest.mark.parametrize("stage", PROMOTION_CHAIN)
def test_every_made_up_digest_of_the_stack_files_is_marked(stage):
    # the backup job and the data-tier and Elastic Stack digests were written without registry access
    marked = set(load_stage_with(stage).config.images.placeholder_digests)
    assert {"backupJob", "postgres", "redis", "redisExporter", "elasticsearch", "kibana", "filebeat"} <= marked
