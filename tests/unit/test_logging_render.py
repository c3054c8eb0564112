"""`render` writes the generated shipper and Elasticsearch settings to build/<stage>/logging/."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.stagehelpers import find_object, load_stage_with
from wfdeploy.render.artifacts import ARTIFACT_WRITERS
from wfdeploy.render.artifacts.logging import write_logging_artifacts
from wfdeploy.render.writer import render_stage


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    root = tmp_path_factory.mktemp("build")
    return {stage: render_stage(load_stage_with(stage), root, run_gates=False) for stage in ("local", "production")}


def test_logging_writer_is_registered():
    assert write_logging_artifacts in ARTIFACT_WRITERS


def test_render_writes_the_shipper_config_exactly_as_deployed(rendered):
    result = rendered["production"]
    written = yaml.safe_load((result.output_dir / "logging" / "filebeat.yml").read_text())
    deployed = find_object(result.synthesis, "Beat", "filebeat")["spec"]["config"]
    assert written == deployed
    assert written["filebeat.inputs"][0]["paths"] == ["/var/log/containers/*.log"]


def test_render_writes_elasticsearch_node_settings_and_topology(rendered):
    folder = rendered["production"].output_dir / "logging"
    node_settings = yaml.safe_load((folder / "elasticsearch-default.yml").read_text())
    assert node_settings["node.store.allow_mmap"] is False
    assert node_settings["cluster.routing.allocation.awareness.attributes"] == "k8s_node_name,zone"
    topology = yaml.safe_load((folder / "elasticsearch.yml").read_text())
    assert topology["version"] == load_stage_with("production").config.logging.version
    assert [(n["name"], n["count"]) for n in topology["nodeSets"]] == [("default", 3)]
    assert topology["nodeSets"][0]["storage"] == ["200Gi"]


def test_render_writes_the_retention_and_snapshot_state_per_stage(rendered):
    production = json.loads((rendered["production"].output_dir / "logging" / "retention.json").read_text())
    local = json.loads((rendered["local"].output_dir / "logging" / "retention.json").read_text())
    assert production["ilmPolicies"]["platform-logs-retention"]["policy"]["phases"]["delete"]["min_age"] == "30d"
    assert local["ilmPolicies"]["platform-logs-retention"]["policy"]["phases"]["delete"]["min_age"] == "3d"
    assert production["slmPolicies"] and not local["slmPolicies"]


def test_rendered_logging_files_hold_no_credentials(rendered):
    for result in rendered.values():
        for path in (result.output_dir / "logging").iterdir():
            text = path.read_text().lower()
            assert "password:" not in text and "access_key" not in text and "secret_key" not in text, path
