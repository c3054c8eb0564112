"""checkov over every stage's rendered manifests: zero failed checks; skips only inline, with a reason."""

from __future__ import annotations

import pytest
import yaml

from tests.stagehelpers import STAGES
from wfdeploy.render.gates.checkov import CHECKOV, run_checkov, skip_problems

pytestmark = pytest.mark.integration


def test_checkov_is_installed_in_its_own_environment():
    assert CHECKOV.is_file(), f"{CHECKOV} missing: run scripts/install"
    assert ".venv-checkov" in str(CHECKOV)


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_passes_checkov_with_zero_failed_checks(stage, rendered):
    manifests = rendered[stage].output_dir / "manifests"
    assert [str(f) for f in skip_problems(manifests) + run_checkov(manifests)] == []


def write(folder, name, document):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(yaml.safe_dump(document))


def privileged_pod(annotations=None):
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "rogue", "namespace": "apps", **({"annotations": annotations} if annotations else {})},
        "spec": {"containers": [{"name": "rogue", "image": "busybox", "securityContext": {"privileged": True}}]},
    }


def test_failed_checks_name_the_object_and_an_inline_skip_with_a_reason_suppresses_only_its_check(tmp_path):
    write(tmp_path / "apps", "Pod.rogue.yaml", privileged_pod())
    skip = {"checkov.io/skip1": "CKV_K8S_16=a test fixture that must stay privileged"}
    write(tmp_path / "apps", "Pod.excused.yaml", {**privileged_pod(skip), "metadata": {"name": "excused", "namespace": "apps", "annotations": skip}})
    failures = run_checkov(tmp_path)
    rogue = {f.problem.split()[0] for f in failures if "Pod.apps.rogue" in f.subject}
    excused = {f.problem.split()[0] for f in failures if "Pod.apps.excused" in f.subject}
    assert "CKV_K8S_16" in rogue  # privileged container
    assert excused == rogue - {"CKV_K8S_16"}  # every other finding remains
    assert skip_problems(tmp_path) == []


def test_a_skip_annotation_without_a_reason_fails(tmp_path):
    write(tmp_path / "apps", "Pod.rogue.yaml", privileged_pod({"checkov.io/skip1": "CKV_K8S_16"}))
    assert [f.problem for f in skip_problems(tmp_path)] == [
        "checkov.io/skip1: 'CKV_K8S_16' needs the form CKV_K8S_<n>=<reason>"
    ]
