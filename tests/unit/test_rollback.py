"""Rollback re-deploys an earlier verified release through `pulumi up`, never `kubectl rollout undo`."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from components.release import Release, release_of
from tests.fakeautomation import healthy
from wfdeploy.cli import main
from wfdeploy.promotion import automation as boundary
from wfdeploy.promotion.deployer import VERIFIED_KEY, Deployer, Refusal
from wfdeploy.promotion.records import Entry, RecordStore
from wfdeploy.promotion.rollback import choose_target, rollback

IMAGE = "ghcr.io/example/workflow-service:1.5.{n}@sha256:{digest}"
GOOD, BETTER, BAD = (IMAGE.format(n=n, digest=c * 64) for n, c in ((0, "a"), (1, "b"), (2, "c")))


def deployer(fake) -> Deployer:
    return Deployer(fake, RecordStore(), say=lambda _line: None)


@pytest.fixture
def alpha_history():
    """alpha verified GOOD, then BETTER, then runs BAD, which failed verification."""
    fake = healthy("alpha")
    d = deployer(fake)
    assert d.promote("checkout", "alpha", image=GOOD).ok
    assert d.promote("checkout", "alpha", image=BETTER).ok
    fake.verify_ok["alpha"] = False
    assert d.promote("checkout", "alpha", image=BAD).code == 1
    fake.verify_ok["alpha"] = True
    fake.calls.clear()
    return fake


def entry(release_id: str, event: str = "verified") -> Entry:
    return Entry(stage="alpha", event=event, release={"id": release_id}, source="test")


# -- choosing the target ---------------------------------------------------------------------------

def test_default_target_is_the_newest_verified_release_not_running_now():
    history = [entry("r-1"), entry("r-2"), entry("r-3", "deployed")]
    assert choose_target(history, "r-3", None, "alpha").release_id == "r-2"
    assert choose_target(history, "r-2", None, "alpha").release_id == "r-1"


def test_failed_or_merely_deployed_releases_are_never_targets():
    history = [entry("r-1"), entry("r-2", "deployed"), entry("r-2", "verification-failed")]
    assert choose_target(history, "r-3", None, "alpha").release_id == "r-1"
    with pytest.raises(Refusal, match="never verified"):
        choose_target(history, "r-3", "r-2", "alpha")


def test_explicit_target_must_be_verified_here_and_not_the_running_one():
    history = [entry("r-1"), entry("r-2")]
    assert choose_target(history, "r-2", "r-1", "alpha").release_id == "r-1"
    with pytest.raises(Refusal, match="already runs release r-2"):
        choose_target(history, "r-2", "r-2", "alpha")
    with pytest.raises(Refusal, match="verified releases: r-2, r-1"):
        choose_target(history, "r-2", "r-9", "alpha")


def test_without_an_earlier_verified_release_there_is_nothing_to_roll_back_to():
    with pytest.raises(Refusal, match="no earlier verified release"):
        choose_target([entry("r-1")], "r-1", None, "alpha")
    with pytest.raises(Refusal, match="verified releases: none"):
        choose_target([], None, None, "alpha")


# -- re-deploying -------------------------------------------------------------------------------------

def test_rollback_restores_the_recorded_configuration_and_digest_with_pulumi_up(alpha_history):
    fake = alpha_history
    outcome = rollback(deployer(fake), "alpha")
    assert outcome.ok and outcome.release_id == release_of(BETTER).id
    restored = {call[2]: call[3] for call in fake.names("set_config") if call[2] != VERIFIED_KEY}
    assert json.loads(restored["workflow-platform:images"])["workflowService"] == BETTER
    assert set(restored) == set(RecordStore().verified("alpha")[-1].stack_config)
    assert [call[0] for call in fake.names("preview", "up", "verify")] == ["preview", "up", "verify", "up"]
    assert fake.outputs["alpha"]["verifiedRelease"]["id"] == release_of(BETTER).id


def test_rollback_records_the_rollback_and_its_verification(alpha_history):
    rollback(deployer(alpha_history), "alpha")
    last_two = RecordStore().history("alpha")[-2:]
    assert [e.event for e in last_two] == ["rolled-back", "verified"]
    assert all(e.source == f"rollback:{release_of(BAD).id}" for e in last_two)


def test_rollback_to_an_explicit_older_release(alpha_history):
    outcome = rollback(deployer(alpha_history), "alpha", wanted=release_of(GOOD).id)
    assert outcome.ok and alpha_history.outputs["alpha"]["release"]["id"] == release_of(GOOD).id


def test_a_failed_rollback_verification_is_recorded_and_not_marked(alpha_history):
    alpha_history.verify_ok["alpha"] = False
    outcome = rollback(deployer(alpha_history), "alpha")
    assert outcome.code == 1
    assert [e.event for e in RecordStore().history("alpha")[-2:]] == ["rolled-back", "verification-failed"]
    assert not any(call[2] == VERIFIED_KEY for call in alpha_history.names("set_config"))


def test_rollback_refuses_a_release_this_checkout_cannot_reproduce_and_names_its_commit(alpha_history):
    store = RecordStore()
    newest = store.verified("alpha")[-1]
    other_code = Release.from_dict(newest.release)
    other_code = Release(other_code.image_digest, other_code.charts, "0" * 64)  # deployed from other code
    store.append(replace(newest, release=other_code.to_dict(), git_commit="abc123"))
    with pytest.raises(Refusal) as caught:
        rollback(deployer(alpha_history), "alpha")
    assert "git checkout abc123" in str(caught.value) and "stage-independent configuration" in str(caught.value)
    assert alpha_history.names("set_config", "unset_config", "preview", "up") == []


def test_rollback_runs_preflight_before_changing_anything(alpha_history):
    alpha_history.contexts = []
    with pytest.raises(Refusal) as caught:
        rollback(deployer(alpha_history), "alpha")
    assert caught.value.code == 3
    assert alpha_history.names("set_config", "unset_config", "preview", "up") == []


# -- the command line ------------------------------------------------------------------------------------

def test_rollback_command_exit_codes_and_messages(alpha_history, monkeypatch, capsys):
    monkeypatch.setattr(boundary, "default_automation", lambda: alpha_history)
    assert main(["rollback", "alpha", "--to", "r-0000000000000000"]) == 2
    assert "never verified in 'alpha'" in capsys.readouterr().err
    assert main(["rollback", "alpha", "--list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listed] == [release_of(BETTER).id, release_of(GOOD).id]
    assert main(["rollback", "alpha"]) == 0
    assert f"release {release_of(BETTER).id} is deployed and verified in alpha" in capsys.readouterr().out
    assert main(["rollback", "staging"]) == 2
    assert "no earlier verified release of 'staging'" in capsys.readouterr().err


def test_rollback_of_production_needs_explicit_confirmation(monkeypatch, capsys):
    fake = healthy("production", "staging")
    d = deployer(fake)
    for image in (GOOD, BETTER):
        fake.deploy("staging", image, verified=True)
        assert d.promote("staging", "production", confirmed_stage="production").ok
    fake.calls.clear()
    monkeypatch.setattr(boundary, "default_automation", lambda: fake)
    assert main(["rollback", "production"]) == 2
    assert "--yes-i-mean-production" in capsys.readouterr().err
    assert fake.names("set_config", "up") == []
    assert main(["rollback", "production", "--yes-i-mean-production"]) == 0
    assert fake.outputs["production"]["release"]["id"] == release_of(GOOD).id


def test_live_boundary_restores_a_section_as_nested_keys_keeping_the_yaml_shape(monkeypatch):
    # the whole object with its types (`pulumi config set-all --json`): --path assignments would make a
    # quantity such as "2" a number
    calls = []

    class Stack:
        def remove_config(self, key, path=False):
            calls.append(("remove", key))

        def set_all_config_json(self, text):
            calls.append(("set", json.loads(text)))

    live = boundary.LiveAutomation()
    monkeypatch.setattr(live, "_stack", lambda stage: Stack())
    section = {"context": "workflow-alpha", "zones": ["a", "b"], "allowLoadBalancerServices": False,
               "kubernetesVersion": "1.34"}
    live.set_config("alpha", "workflow-platform:cluster", json.dumps(section))
    assert calls == [
        ("remove", "workflow-platform:cluster"),
        ("set", {"workflow-platform:cluster": {"value": json.dumps(section), "objectValue": section, "secret": False}}),
    ]
