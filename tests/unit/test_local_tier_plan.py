"""The local tier's plan: how a rendered stage becomes podman pods, secrets and loopback stand-ins (no podman)."""

from __future__ import annotations

import dataclasses

import pytest

from components.config import ConfigError
from tests.stagehelpers import load_stage_with, section
from wfdeploy.local.images import image_key, load_recipes
from wfdeploy.local.play import PlayError, build_plan, hosts_file
from wfdeploy.local.tier import _image_refs, secret_values
from wfdeploy.render.writer import redact_secret_object


@pytest.fixture(scope="module")
def local_objects(synthesized):
    # what `wfdeploy up` reads: the rendered manifests, Secrets redacted
    return [redact_secret_object(obj) for obj in synthesized("local").kubernetes_objects()]


def _plan(objects):
    loaded = load_stage_with("local")
    tier = loaded.config.local_tier
    refs = _image_refs(loaded, tier.images)
    image_map = {refs[key]: f"localhost/wfp-{recipe}:test" for key, recipe in tier.images.items()}
    loopback = {ref: tier.loopback[key] for key, ref in _image_refs(loaded, tier.loopback).items()}
    return build_plan(objects, image_map, loopback)


def test_each_workload_becomes_one_pod_with_local_images(local_objects):
    plan = _plan(local_objects)
    pods = {pod.name: pod for pod in plan.pods}
    assert {"workflow-service", "workflow-cache-0"} <= {pod.name for pod in plan.services}
    assert {"workflow-db-backup-once", "workflow-db-restore-drill-once"} <= {pod.name for pod in plan.jobs}
    for pod in plan.pods:
        assert all(c["image"].startswith("localhost/wfp-") for c in pod.pod["spec"]["containers"])
    assert pods["workflow-db-backup-once"].pod["spec"]["restartPolicy"] == "Never"


def test_statefulset_pod_gets_ordinal_hostname_and_its_volume_claim(local_objects):
    cache = next(pod for pod in _plan(local_objects).pods if pod.name == "workflow-cache-0")
    spec = cache.pod["spec"]
    assert spec["hostname"] == "workflow-cache-0" and spec["subdomain"] == "workflow-cache-headless"
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "data-workflow-cache-0"}} in spec["volumes"]
    assert "data-workflow-cache-0" in cache.volumes


def test_rendered_objects_are_not_modified(local_objects):
    import copy

    before = copy.deepcopy(local_objects)
    _plan(local_objects)
    assert local_objects == before


def test_secret_references_point_at_per_namespace_podman_secrets(local_objects):
    plan = _plan(local_objects)
    service = next(pod for pod in plan.pods if pod.name == "workflow-service")
    refs = {item["valueFrom"]["secretKeyRef"]["name"] for item in service.pod["spec"]["containers"][0]["env"]
            if "secretKeyRef" in item.get("valueFrom", {})}
    assert refs == {"wfp.workflow.workflow-db-app", "wfp.workflow.workflow-cache-auth"}
    assert {secret.podman_name for secret in plan.secrets} >= refs


def test_config_maps_of_the_pods_namespace_travel_with_the_pod(local_objects):
    service = next(pod for pod in _plan(local_objects).pods if pod.name == "workflow-service")
    kinds = [(doc["kind"], doc["metadata"]["name"]) for doc in service.documents]
    assert kinds == [("ConfigMap", "workflow-service-settings"), ("Pod", "workflow-service")]


def test_operators_data_services_become_loopback_stand_ins(local_objects):
    plan = _plan(local_objects)
    kinds = {(s.kind, s.source["kind"], s.source["metadata"]["name"]) for s in plan.stand_ins}
    assert ("postgresql", "Cluster", "workflow-db") in kinds
    assert ("s3", "Deployment", "workflow-backup-store") in kinds
    hosts = hosts_file(plan, local_objects)
    for name in ("workflow-db-rw", "workflow-db-rw.workflow-data.svc", "workflow-backup-store.workflow-data.svc",
                 "workflow-cache.workflow-data.svc", "workflow-cache-0.workflow-cache-headless.workflow-data.svc"):
        assert f"127.0.0.1\t{name}\n" in hosts


def test_workload_needing_an_operators_secret_is_not_played_and_says_why(local_objects):
    plan = _plan(local_objects)
    assert not any(pod.namespace == "logging" for pod in plan.pods)
    assert any("logging-setup" in note and "operator" in note for note in plan.skipped)


def test_unmapped_image_is_refused_naming_the_workload(local_objects):
    with pytest.raises(PlayError, match="Cluster workflow-data/workflow-db: map its image"):
        build_plan(local_objects, image_map={}, loopback_images={})
    stand_ins = {"ghcr.io/cloudnative-pg/postgresql:17.5": "postgresql", "docker.io/versity/versitygw:v1.0.16": "s3"}
    with pytest.raises(PlayError, match=r"(StatefulSet|Deployment|CronJob) [a-z/-]+: no local image for .*localTier"):
        build_plan(local_objects, image_map={}, loopback_images=stand_ins)


def test_generated_secret_values_are_shared_by_name_and_take_the_owner_from_the_cluster(local_objects):
    plan = _plan(local_objects)
    values = secret_values(plan, local_objects)
    app = values[("workflow", "workflow-db-app")]
    assert values[("workflow-data", "workflow-db-app")] == app
    assert app["username"] == "workflow"  # bootstrap.initdb.owner of the Cluster
    assert len(app["password"]) >= 24 and app["password"] != "<redacted>"
    assert secret_values(plan, local_objects)[("workflow", "workflow-db-app")]["password"] != app["password"]


def test_local_tier_config_rejects_an_unknown_image_key():
    tier = section("local", "localTier")
    tier["images"]["workflowServise"] = "workflow-service"
    with pytest.raises(ConfigError, match="localTier.images"):
        load_stage_with("local", {"workflow-platform:localTier": tier})


def test_image_tag_hash_covers_the_image_config_and_is_stable():
    recipes = load_recipes()
    recipe = recipes.images["workflow-service"]
    assert image_key(recipes, recipe) == image_key(recipes, recipe)
    changed = dataclasses.replace(recipe, cmd=("python3", "-m", "something_else"))
    assert image_key(recipes, changed) != image_key(recipes, recipe)
    other_packages = dataclasses.replace(recipe, packages=recipe.packages + ("curl",))
    assert image_key(recipes, other_packages) != image_key(recipes, recipe)


def test_up_refuses_a_stage_without_a_local_tier_section(capsys):
    from wfdeploy.cli import main

    assert main(["up", "alpha"]) == 1
    assert "has no localTier section" in capsys.readouterr().err


def test_down_of_a_stage_that_is_not_up_removes_nothing(capsys):
    from wfdeploy.cli import main

    assert main(["down", "local"]) == 0
    assert "not up: nothing to remove" in capsys.readouterr().out
