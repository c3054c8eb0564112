"""Promotion along alpha -> staging -> production, against a recording fake of the automation boundary."""

from __future__ import annotations

import json

import pytest

from components.release import Release, release_of
from tests.fakeautomation import FakeAutomation, healthy
from wfdeploy.cli import main
from wfdeploy.promotion import automation as boundary
from wfdeploy.promotion.deployer import IMAGE_KEY, VERIFIED_KEY, Deployer, Refusal
from wfdeploy.promotion.records import RecordStore

NEW_DIGEST = "sha256:" + "b" * 64
ALPHA_IMAGE = f"ghcr.io/example/workflow-service:1.5.0@{NEW_DIGEST}"
CHANGES = ("set_config", "unset_config", "preview", "up", "verify")


def deployer(fake: FakeAutomation) -> Deployer:
    return Deployer(fake, RecordStore(), say=lambda _line: None)


def alpha_verified(fake: FakeAutomation) -> dict:
    return fake.deploy("alpha", ALPHA_IMAGE, verified=True)


def refused(fake, source, target, **kwargs) -> Refusal:
    with pytest.raises(Refusal) as caught:
        deployer(fake).promote(source, target, **kwargs)
    return caught.value


# -- refusals: nothing is changed ------------------------------------------------------------

@pytest.mark.parametrize(
    "source, target, message",
    [
        ("alpha", "production", "refusing to skip staging"),
        ("checkout", "staging", "into 'alpha' only"),
        ("staging", "alpha", "forward only"),
        ("staging", "staging", "forward only"),
        ("alpha", "local", "not a stage of the promotion chain"),
        ("local", "alpha", "not a stage of the promotion chain"),
    ],
)
def test_promotion_refuses_anything_but_one_step_along_the_chain(source, target, message):
    fake = healthy("alpha", "staging", "production")
    alpha_verified(fake)
    refusal = refused(fake, source, target, confirmed_stage="production")
    assert message in str(refusal) and refusal.code == 2
    assert fake.names(*CHANGES) == []


def test_promotion_refuses_a_source_whose_current_release_is_not_verified():
    fake = healthy("staging")
    fake.deploy("alpha", ALPHA_IMAGE, verified=False)
    refusal = refused(fake, "alpha", "staging")
    assert "is not verified" in str(refusal) and "wfdeploy promote checkout alpha" in str(refusal)
    assert fake.names(*CHANGES) == []


def test_promotion_refuses_a_source_verified_for_an_older_release():
    fake = healthy("staging")
    old = fake.deploy("alpha", ALPHA_IMAGE.replace("b" * 64, "c" * 64), verified=True)
    fake.outputs["alpha"]["release"] = release_of(ALPHA_IMAGE).to_dict()  # a newer, unverified release runs now
    assert old["id"] != fake.outputs["alpha"]["release"]["id"]
    assert "not verified" in str(refused(fake, "alpha", "staging"))


def test_promotion_refuses_a_source_never_deployed():
    assert "no deployed release" in str(refused(healthy("staging"), "alpha", "staging"))


def test_production_needs_explicit_confirmation():
    fake = healthy("production")
    fake.deploy("staging", ALPHA_IMAGE, verified=True)
    refusal = refused(fake, "staging", "production")
    assert "--yes-i-mean-production" in str(refusal) and refusal.code == 2
    assert fake.names(*CHANGES) == []
    assert deployer(fake).promote("staging", "production", confirmed_stage="production").ok


def test_promotion_refuses_a_verified_release_this_checkout_cannot_reproduce():
    fake = healthy("staging")
    verified = Release(NEW_DIGEST, release_of(ALPHA_IMAGE).charts, "0" * 64).to_dict()
    fake.outputs["alpha"] = {"release": verified, "verifiedRelease": verified}
    refusal = refused(fake, "alpha", "staging")
    assert "stage-independent configuration" in str(refusal) and "check out the commit" in str(refusal)
    assert fake.names(*CHANGES) == []


def test_promotion_runs_preflight_first_and_changes_nothing_when_it_fails():
    fake = healthy("staging")
    alpha_verified(fake)
    fake.pulumi = None
    fake.deployments = set()
    refusal = refused(fake, "alpha", "staging")
    assert refusal.code == 3 and "[pulumi-cli]" in str(refusal) and "[crds-and-operators]" in str(refusal)
    assert fake.names(*CHANGES) == []


def test_checkout_into_alpha_refuses_an_image_not_pinned_by_digest():
    refusal = refused(healthy("alpha"), "checkout", "alpha", image="ghcr.io/example/workflow-service:1.5.0")
    assert "not pinned by digest" in str(refusal)
    assert "expected an image reference" in str(refused(healthy("alpha"), "checkout", "alpha", image="Not An Image"))


# -- the happy path -----------------------------------------------------------------------------

def test_promotion_pins_the_verified_digest_previews_applies_verifies_and_marks_verified():
    fake = healthy("staging")
    release = alpha_verified(fake)
    outcome = deployer(fake).promote("alpha", "staging")
    assert outcome.ok and outcome.release_id == release["id"] and outcome.events == ["deployed", "verified"]
    staged_image = f"ghcr.io/example/workflow-service:1.4.2@{NEW_DIGEST}"  # staging's repository and tag, alpha's digest
    assert fake.names(*CHANGES) == [
        ("set_config", "staging", IMAGE_KEY, staged_image, True),
        ("unset_config", "staging", VERIFIED_KEY, True),
        ("preview", "staging"),
        ("up", "staging"),
        ("verify", "staging"),
        ("set_config", "staging", VERIFIED_KEY, release["id"], True),
        ("up", "staging"),
    ]
    assert fake.outputs["staging"]["verifiedRelease"]["id"] == release["id"]


def test_promotion_records_what_happened_with_the_deployed_configuration():
    fake = healthy("staging")
    release = alpha_verified(fake)
    deployer(fake).promote("alpha", "staging")
    history = RecordStore().history("staging")
    assert [(e.event, e.source, e.release_id) for e in history] == [("deployed", "alpha", release["id"]), ("verified", "alpha", release["id"])]
    images = json.loads(history[-1].stack_config["workflow-platform:images"])
    assert images["workflowService"].endswith(NEW_DIGEST)
    assert "verifiedRelease" not in json.loads(history[-1].stack_config["workflow-platform:promotion"])
    assert not any(key.endswith(("pagerRoutingKey", "chatWebhookUrl")) for key in history[-1].stack_config)


def test_a_release_moves_from_the_checkout_through_every_stage_unchanged():
    fake = healthy("alpha", "staging", "production")
    d = deployer(fake)
    fake.aws_account = "111111111111"
    first = d.promote("checkout", "alpha", image=ALPHA_IMAGE)
    fake.aws_account = "222222222222"
    second = d.promote("alpha", "staging")
    fake.aws_account = "333333333333"
    third = d.promote("staging", "production", confirmed_stage="production")
    assert first.ok and second.ok and third.ok
    assert first.release_id == second.release_id == third.release_id == release_of(ALPHA_IMAGE).id
    assert fake.outputs["production"]["verifiedRelease"]["id"] == first.release_id


# -- failures after a change started -----------------------------------------------------------

def test_a_failed_preview_applies_nothing_and_is_recorded():
    fake = healthy("staging")
    alpha_verified(fake)
    fake.preview_ok["staging"] = False
    outcome = deployer(fake).promote("alpha", "staging")
    assert outcome.code == 1 and "nothing applied" in outcome.message
    assert fake.names("up", "verify") == []
    assert [e.event for e in RecordStore().history("staging")] == ["preview-failed"]


def test_a_failed_update_is_recorded_and_not_verified():
    fake = healthy("staging")
    alpha_verified(fake)
    fake.up_ok["staging"] = [False]
    outcome = deployer(fake).promote("alpha", "staging")
    assert outcome.code == 1 and "wfdeploy rollback staging" in outcome.message
    assert fake.names("verify") == []
    assert [e.event for e in RecordStore().history("staging")] == ["apply-failed"]


def test_a_failed_verification_leaves_the_stage_unverified_and_blocks_the_next_promotion():
    fake = healthy("staging", "production")
    alpha_verified(fake)
    fake.verify_ok["staging"] = False
    outcome = deployer(fake).promote("alpha", "staging")
    assert outcome.code == 1 and "verification failed" in outcome.message
    assert not any(call[2] == VERIFIED_KEY for call in fake.names("set_config"))
    assert [e.event for e in RecordStore().history("staging")] == ["deployed", "verification-failed"]
    assert "not verified" in str(refused(fake, "staging", "production", confirmed_stage="production"))


# -- the command line -----------------------------------------------------------------------------

@pytest.fixture
def cli(monkeypatch):
    fake = healthy("alpha", "staging", "production")
    monkeypatch.setattr(boundary, "default_automation", lambda: fake)
    return fake


@pytest.mark.parametrize(
    "argv, code, message",
    [
        (["promote", "alpha", "production", "--yes-i-mean-production"], 2, "refusing to skip staging"),
        (["promote", "staging", "production"], 2, "add --yes-i-mean-production"),
        (["promote", "staging", "production", "--confirm-stage", "staging"], 2, "add --yes-i-mean-production"),
        (["promote", "production", "staging"], 2, "forward only"),
        (["promote", "local", "alpha"], 2, "not a stage of the promotion chain"),
        (["promote", "alpha", "local"], 2, "not a stage of the promotion chain"),
        (["promote", "checkout", "production", "--yes-i-mean-production"], 2, "into 'alpha' only"),
        (["promote", "alpha", "staging", "--image", ALPHA_IMAGE], 2, "--image applies to `promote checkout alpha` only"),
        (["promote", "staging", "production", "--yes-i-mean-production"], 2, "has no deployed release"),
    ],
)
def test_promote_command_refusals_exit_2_with_the_reason(cli, capsys, argv, code, message):
    assert main(argv) == code
    err = capsys.readouterr().err
    assert "refused" in err and message in err
    assert cli.names(*CHANGES) == []


def test_promote_command_unverified_source_and_preflight_exit_codes(cli, capsys):
    cli.deploy("alpha", ALPHA_IMAGE, verified=False)
    assert main(["promote", "alpha", "staging"]) == 2
    assert "not verified" in capsys.readouterr().err
    alpha_verified(cli)
    cli.contexts.remove("workflow-staging")
    assert main(["promote", "alpha", "staging"]) == 3
    assert "no context 'workflow-staging'" in capsys.readouterr().err


def test_promote_command_success_and_failure_exit_codes(cli, capsys):
    alpha_verified(cli)
    cli.aws_account = "222222222222"
    cli.verify_ok["staging"] = False
    assert main(["promote", "alpha", "staging"]) == 1
    assert "verification failed" in capsys.readouterr().err
    cli.verify_ok["staging"] = True
    assert main(["promote", "alpha", "staging"]) == 0
    assert "deployed and verified in staging" in capsys.readouterr().out


def test_promotion_refuses_a_target_whose_stack_file_names_another_previous_stage(monkeypatch):
    import wfdeploy.promotion.deployer as promotion

    real = promotion.stack_config

    def rewired(stage):
        values = real(stage)
        if stage == "production":
            section = json.loads(values["workflow-platform:promotion"])
            section |= {"previousStage": "alpha", "previousStack": "organization/workflow-platform/alpha"}
            values["workflow-platform:promotion"] = json.dumps(section)
        return values

    monkeypatch.setattr(promotion, "stack_config", rewired)
    fake = healthy("production")
    fake.deploy("staging", ALPHA_IMAGE, verified=True)
    refusal = refused(fake, "staging", "production", confirmed_stage="production")
    assert "says its previous stage is 'alpha', not 'staging'" in str(refusal)
    assert fake.names(*CHANGES) == []


def test_promote_command_exits_4_when_pulumi_cannot_be_asked(cli, capsys):
    from wfdeploy.promotion.automation import AutomationError

    def unavailable(stage):
        raise AutomationError(f"cannot read the outputs of stack {stage!r}: backend unreachable")

    cli.stack_outputs = unavailable
    assert main(["promote", "alpha", "staging"]) == 4
    assert "cannot read the outputs of stack 'alpha': backend unreachable" in capsys.readouterr().err
    assert cli.names(*CHANGES) == []


def test_live_boundary_without_the_pulumi_cli_raises_a_readable_error(tmp_path, monkeypatch):
    from wfdeploy.promotion.automation import AutomationError, LiveAutomation

    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(AutomationError, match="Pulumi CLI is not installed"):
        LiveAutomation().stack_outputs("alpha")


def _fake_pulumi(tmp_path, script: str):
    """A `pulumi` on PATH that logs its arguments and runs `script` (sh)."""
    fake = tmp_path / "bin" / "pulumi"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "calls"}\n{script}\n')
    fake.chmod(0o755)
    return fake.parent


def test_live_boundary_lists_config_keys_read_only_without_creating_the_stack(tmp_path, monkeypatch):
    from wfdeploy.promotion.automation import LiveAutomation

    listing = '{"workflow-platform:monitoring.grafanaAdminPassword": {"secret": true}, "aws:region": {"value": "x"}}'
    fake_bin = _fake_pulumi(tmp_path, f"echo '{listing}'")
    monkeypatch.setenv("PATH", f"{fake_bin}:/usr/bin:/bin")
    keys = LiveAutomation(work_dir=str(tmp_path)).configured_keys("alpha")
    assert keys == {"workflow-platform:monitoring.grafanaAdminPassword", "aws:region"}
    assert (tmp_path / "calls").read_text().splitlines() == ["config --stack alpha --json"]


def test_live_boundary_names_the_stack_whose_config_cannot_be_read(tmp_path, monkeypatch):
    from wfdeploy.promotion.automation import AutomationError, LiveAutomation

    monkeypatch.setenv("PATH", f"{_fake_pulumi(tmp_path, 'echo no stack named alpha >&2; exit 255')}:/usr/bin:/bin")
    with pytest.raises(AutomationError, match=r"`pulumi config --stack alpha` failed: no stack named alpha"):
        LiveAutomation(work_dir=str(tmp_path)).configured_keys("alpha")
