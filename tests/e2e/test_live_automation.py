"""`LiveAutomation` against the real Pulumi CLI and a file:// backend, without a cluster."""

from __future__ import annotations

import json

import yaml

from wfdeploy.promotion.automation import LiveAutomation
from wfdeploy.cluster.offline_pulumi import offline_env


def test_an_object_set_whole_keeps_the_types_it_was_recorded_with(toolchain_env, tmp_path, monkeypatch):
    # a rollback sets each recorded object whole; "2" must stay a string (a CPU quantity), 2 a number
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: typed\nruntime: python\n")
    env = offline_env(tmp_path / "state", str(tmp_path / "no-kubeconfig"), "test-only", base=toolchain_env)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    recorded = {"cpuLimit": "2", "replicas": 2, "enabled": True, "zones": ["1", 3], "nested": {"memory": "512Mi"}}
    LiveAutomation(work_dir=str(project)).set_config("s", "typed:service", json.dumps(recorded))
    stored = yaml.safe_load((project / "Pulumi.s.yaml").read_text())["config"]
    assert stored["typed:service"] == recorded
