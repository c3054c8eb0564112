"""checkov over every stage's rendered manifests: zero failed checks; skips only inline, with a reason."""

from __future__ import annotations

import time

import pytest
import yaml

from tests.stagehelpers import STAGES
from wfdeploy.render.gates.checkov import CHECKOV, run_checkov, scan_results, send_stage, skip_problems, started_scan

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


def scan_stages(scan, folders: dict) -> dict:
    """What `render --all` does: each stage sent to the one imported checkov, then every stage's findings."""
    for stage, folder in folders.items():
        send_stage(scan, stage, folder)
    return scan_results(scan, list(folders))


def test_one_scan_of_several_stages_reports_each_stage_exactly_what_its_own_scan_reports(tmp_path):
    """`render --all` scans every stage in one checkov: each finding goes to its stage, with the same words."""
    same_files = {"clean": [], "rogue": [("apps", "Pod.rogue.yaml", privileged_pod())]}
    same_files["also-rogue"] = same_files["rogue"] + [("other", "Pod.rogue.yaml", privileged_pod())]
    folders = {}
    for stage, documents in same_files.items():
        folders[stage] = tmp_path / stage
        folders[stage].mkdir()
        for namespace, name, document in documents:
            write(folders[stage] / namespace, name, document)
    with started_scan() as scan:
        found = scan_stages(scan, folders)
    assert found == {stage: run_checkov(folder) for stage, folder in folders.items()}
    assert found["clean"] == [] and found["rogue"] and len(found["also-rogue"]) == 2 * len(found["rogue"])
    assert all("(apps/Pod.rogue.yaml)" in failure.subject for failure in found["rogue"])


def test_a_stage_is_scanned_as_soon_as_it_is_sent_not_when_the_results_are_asked_for(tmp_path):
    """So that checkov works on the first stages while the last ones are still being synthesized."""
    write(tmp_path / "alpha" / "apps", "Pod.rogue.yaml", privileged_pod())
    with started_scan() as scan:
        send_stage(scan, "alpha", tmp_path / "alpha")
        report = scan.sent["alpha"]
        deadline = time.monotonic() + 120
        while not (report.is_file() and report.stat().st_size) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert report.is_file() and report.stat().st_size, "the scan had not run before its results were asked for"
        found = scan_results(scan, ["alpha"])
    assert found["alpha"] == run_checkov(tmp_path / "alpha") != []


def test_a_scan_that_is_never_given_its_stages_ends_with_the_block(tmp_path):
    with started_scan() as scan:
        process = scan.process
        assert process.poll() is None
    assert process.poll() is not None and not scan.folder.exists()


def test_a_checkov_that_crashes_fails_every_stage_of_the_scan_instead_of_passing_it(tmp_path, monkeypatch):
    from wfdeploy.render.gates import checkov as gate

    crashing = tmp_path / "launcher.py"
    crashing.write_text("import sys\nsys.stdin.readline()\nsys.stderr.write('ImportError: no checkov')\nsys.exit(1)\n")
    monkeypatch.setattr(gate, "LAUNCHER", crashing)
    write(tmp_path / "alpha" / "apps", "Pod.rogue.yaml", privileged_pod())
    with started_scan() as scan:
        found = scan_stages(scan, {"alpha": tmp_path / "alpha", "beta": tmp_path / "alpha"})
    assert {stage: [str(f) for f in failures] for stage, failures in found.items()} == {
        "alpha": ["checkov: exit 1: ImportError: no checkov"], "beta": ["checkov: exit 1: ImportError: no checkov"]
    }
