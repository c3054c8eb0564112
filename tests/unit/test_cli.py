"""`wfdeploy validate` and `wfdeploy render`: exit codes and messages a user sees."""

import subprocess
import sys
from pathlib import Path

import pytest

from wfdeploy.cli import main
from wfdeploy.paths import PROJECT_ROOT


def test_validate_accepts_a_valid_stage(capsys):
    assert main(["validate", "production"]) == 0
    assert "stage 'production': configuration is valid" in capsys.readouterr().out


def test_validate_names_an_unknown_stage_and_lists_the_known_ones(capsys):
    assert main(["validate", "prod"]) == 2
    err = capsys.readouterr().err
    assert "no stack file for stage 'prod'" in err and "alpha" in err and "production" in err


def test_validate_reports_bad_config_with_key_paths_and_no_traceback(tmp_path, monkeypatch, capsys):
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    original = (PROJECT_ROOT / "stacks" / "Pulumi.alpha.yaml").read_text()
    (stacks / "Pulumi.alpha.yaml").write_text(original.replace("replicas: 2", "replicas: -2"))
    monkeypatch.setattr("wfdeploy.stages.STACKS_DIR", stacks)
    assert main(["validate", "alpha"]) == 2
    err = capsys.readouterr().err
    assert "workflow-platform:service.replicas" in err and "Traceback" not in err



@pytest.mark.parametrize(
    "argv", [["validate", "alpha"], ["preflight", "alpha"], ["up", "alpha"], ["verify", "alpha"], ["loadtest", "alpha"]]
)
def test_every_verb_that_reads_a_stage_refuses_a_bad_stack_file_the_same_way(tmp_path, monkeypatch, capsys, argv):
    """One prologue: the refused file and key on stderr, exit 2, and nothing of the verb itself runs."""
    from wfdeploy.commands import loadtest, preflight, up, verify

    stacks = tmp_path / "stacks"
    stacks.mkdir()
    original = (PROJECT_ROOT / "stacks" / "Pulumi.alpha.yaml").read_text()
    (stacks / "Pulumi.alpha.yaml").write_text(original.replace("replicas: 2", "replicas: -2"))
    monkeypatch.setattr("wfdeploy.stages.STACKS_DIR", stacks)

    def must_not_run(*args, **kwargs):
        raise AssertionError("the verb ran on a refused stack file")

    for module, name in ((preflight, "run_preflight"), (up, "up"), (verify, "_release"), (loadtest, "plan_for")):
        monkeypatch.setattr(module, name, must_not_run)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[:2] == [
        "stacks/Pulumi.alpha.yaml: 1 configuration problem:",
        "  - workflow-platform:service.replicas: Input should be greater than or equal to 1 (got -2)",
    ]

def test_validate_deployable_lists_every_missing_secret(monkeypatch, capsys):
    monkeypatch.setattr("wfdeploy.commands.validate._secrets_set", lambda stage: {})
    assert main(["validate", "--deployable", "production"]) == 1
    err = capsys.readouterr().err
    assert "pulumi config set --secret --stack production pagerRoutingKey" in err


@pytest.fixture
def resolved_digests(tmp_path, monkeypatch):
    """The stack files as after an operator resolved every placeholder digest (the list removed)."""
    stacks = tmp_path / "resolved-stacks"
    stacks.mkdir()
    for path in (PROJECT_ROOT / "stacks").glob("Pulumi.*.yaml"):
        lines = [line for line in path.read_text().splitlines(keepends=True) if "placeholderDigests:" not in line]
        (stacks / path.name).write_text("".join(lines))
    monkeypatch.setattr("wfdeploy.stages.STACKS_DIR", stacks)


def test_validate_deployable_refuses_each_placeholder_digest_and_names_the_doc(monkeypatch, capsys):
    from components.config.secrets import OPERATOR_SECRETS

    monkeypatch.setattr(
        "wfdeploy.commands.validate._secrets_set", lambda stage: {s.key: True for s in OPERATOR_SECRETS}
    )
    assert main(["validate", "--deployable", "production"]) == 1
    err = capsys.readouterr().err
    assert "placeholder image digest(s)" in err
    for key in ("backupJob", "postgres", "redis", "redisExporter", "elasticsearch", "kibana", "filebeat"):
        assert f"workflow-platform:images.{key}: placeholder digest" in err
    assert "docs/deployment-guide.md#resolving-placeholder-image-digests" in err
    assert "images.workflowService" not in err


def test_render_renders_placeholder_digests_and_lists_them_on_one_line(capsys):
    assert main(["render", "production", "--skip-gates"]) == 0
    notes = [line for line in capsys.readouterr().out.splitlines() if "placeholder image digests" in line]
    assert len(notes) == 1 and notes[0].endswith("backupJob, postgres, redis, redisExporter, elasticsearch, kibana, filebeat")


def test_validate_deployable_passes_when_secrets_are_set(monkeypatch, capsys, resolved_digests):
    from components.config.secrets import OPERATOR_SECRETS

    monkeypatch.setattr(
        "wfdeploy.commands.validate._secrets_set", lambda stage: {s.key: True for s in OPERATOR_SECRETS}
    )
    assert main(["validate", "--deployable", "production"]) == 0
    assert "deployable" in capsys.readouterr().out


def test_validate_deployable_without_the_pulumi_cli_says_so(monkeypatch, capsys):
    monkeypatch.setattr("shutil.which", lambda name: None)
    assert main(["validate", "--deployable", "alpha"]) == 2
    assert "Pulumi CLI is not installed" in capsys.readouterr().err


def test_render_writes_the_stage_and_reports_each_gate(tmp_path, capsys):
    assert main(["render", "alpha"]) == 0
    out = capsys.readouterr().out
    assert "ok   kubernetes-schema" in out and "ok   crd-schema" in out


def test_render_requires_a_stage_or_all(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["render"])
    assert exit_info.value.code == 2


def test_render_fails_when_a_gate_fails(monkeypatch, capsys):
    from wfdeploy.render.context import GateFailure

    monkeypatch.setitem(
        __import__("wfdeploy.render.gates", fromlist=["GATES"]).GATES,
        "always-fails",
        lambda context: [GateFailure("Deployment workflow/x", "broken on purpose")],
    )
    assert main(["render", "alpha"]) == 1
    err = capsys.readouterr().err
    assert "FAIL always-fails" in err and "Deployment workflow/x: broken on purpose" in err


def test_console_script_is_installed():
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "wfdeploy"), "--help"], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0
    for verb in ("validate", "render"):
        assert verb in completed.stdout


def test_render_all_forks_its_workers_from_itself_only_before_it_ran_a_pulumi_program(monkeypatch):
    import threading

    from wfdeploy.commands import render as render_command
    from wfdeploy.render import synth

    monkeypatch.setattr(threading, "active_count", lambda: 1)
    monkeypatch.setattr(synth, "_ran_a_program", False)
    assert render_command._worker_context().get_start_method() == "fork"  # the CLI: imported, nothing run yet
    monkeypatch.setattr(synth, "_ran_a_program", True)
    assert render_command._worker_context().get_start_method() == "forkserver"
    monkeypatch.setattr(synth, "_ran_a_program", False)
    monkeypatch.setattr(threading, "active_count", lambda: 2)  # a fork copies one thread of several, mid-state
    assert render_command._worker_context().get_start_method() == "forkserver"


def test_render_all_forks_its_workers_with_the_collector_frozen_and_gives_the_caller_its_own_back():
    import gc

    from wfdeploy.commands import render as render_command

    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    with render_command._collector_set_for_forks():
        assert gc.get_freeze_count() > 0  # what the workers inherit is never walked by their collections
        assert gc.get_threshold() == (render_command.WORKER_GC_THRESHOLD, *before[1:])
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_synthesis_marks_the_process_as_having_run_a_pulumi_program(monkeypatch):
    from tests.stagehelpers import load_stage_with
    from wfdeploy.render import synth

    monkeypatch.setattr(synth, "_ran_a_program", False)
    synth.synthesize(load_stage_with("alpha"))
    assert synth.ran_a_program()


def test_render_all_renders_every_stage_in_parallel_and_reports_in_stage_order(capsys, tmp_path, monkeypatch):
    from wfdeploy.commands import render as render_command
    from wfdeploy.stages import known_stages

    monkeypatch.setattr(render_command.os, "cpu_count", lambda: 2)
    assert main(["render", "--all", "--skip-gates"]) == 0
    out = capsys.readouterr().out
    reported = [line.split(":")[0] for line in out.splitlines() if "resources ->" in line]
    assert reported == known_stages()
    assert all((tmp_path / "build" / stage / "plan.json").is_file() for stage in known_stages())
