"""build/<stage>/logging/: the shipper and Elasticsearch settings the program generates, for review.

Read back from the synthesized custom resources and the setup job's ConfigMap,
so the files show exactly what would be deployed:
  filebeat.yml                the Beat's configuration (ECK adds hosts, credentials, CA)
  elasticsearch-<nodeset>.yml each node set's elasticsearch.yml settings
  elasticsearch.yml           topology summary: version, node sets, counts, storage, resources
  retention.json              the setup job's desired state (ILM policy, index template, snapshots)
"""

from __future__ import annotations

import json

from components.logging.facts import ELASTICSEARCH_CONTAINER
from components.logging.setup_job import SETUP_NAME, STATE_FILE
from wfdeploy.render.context import GateFailure, RenderContext, RenderError
from wfdeploy.render.documents import dump_json, dump_yaml

FOLDER = "logging"


def _only(objects: list[dict], what: str) -> dict:
    if len(objects) != 1:
        raise RenderError([GateFailure(what, f"expected exactly one, found {len(objects)}")], gate_name="logging-artifacts")
    return objects[0]


def write_logging_artifacts(context: RenderContext) -> None:
    objects = context.synthesis.kubernetes_objects()
    beats = [obj for obj in objects if obj["kind"] == "Beat" and obj["apiVersion"].startswith("beat.k8s.elastic.co/")]
    clusters = [obj for obj in objects if obj["kind"] == "Elasticsearch"]
    if not beats and not clusters:
        return  # a stage without logging
    out = context.output_dir / FOLDER
    out.mkdir(parents=True, exist_ok=True)

    beat = _only(beats, "Beat (log shipper)")
    (out / "filebeat.yml").write_text(dump_yaml(beat["spec"]["config"]))

    cluster = _only(clusters, "Elasticsearch")
    summary = {"version": cluster["spec"]["version"], "nodeSets": []}
    for node_set in cluster["spec"]["nodeSets"]:
        (out / f"elasticsearch-{node_set['name']}.yml").write_text(dump_yaml(node_set.get("config") or {}))
        pod = node_set.get("podTemplate", {}).get("spec", {})
        container = next((c for c in pod.get("containers", []) if c.get("name") == ELASTICSEARCH_CONTAINER), {})
        summary["nodeSets"].append(
            {
                "name": node_set["name"],
                "count": node_set.get("count"),
                "storage": [claim["spec"]["resources"]["requests"]["storage"] for claim in node_set.get("volumeClaimTemplates", [])],
                "resources": container.get("resources"),
                "topologySpreadConstraints": pod.get("topologySpreadConstraints", []),
            }
        )
    (out / "elasticsearch.yml").write_text(dump_yaml(summary))

    state_maps = [
        obj
        for obj in objects
        if obj["kind"] == "ConfigMap" and obj["metadata"].get("name", "").startswith(f"{SETUP_NAME}-")
    ]
    state = _only(state_maps, "ConfigMap logging-setup-*")
    (out / "retention.json").write_text(dump_json(json.loads(state["data"][STATE_FILE])))
