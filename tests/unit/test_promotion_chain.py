"""The promotion chain comes from the stack files' `promotion.previousStage`: one linear chain or a clear error."""

from __future__ import annotations

import pytest

from components.config import ConfigError, promotion_chain
from tests.stagehelpers import PROMOTION_CHAIN, STACKS_DIR

KEY = "workflow-platform:promotion.previousStage"


def stacks(tmp_path, previous: dict[str, str | None]):
    """One stack file per stage; a stage mapped to None sets no previous stage."""
    for stage, before in previous.items():
        promotion = "" if before is None else (
            f"  workflow-platform:promotion:\n    previousStage: {before}\n"
            f"    previousStack: organization/workflow-platform/{before}\n"
        )
        (tmp_path / f"Pulumi.{stage}.yaml").write_text(f"config:\n{promotion or '  workflow-platform:promotion: {}'}\n")
    return tmp_path


def refusal(tmp_path, previous) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        promotion_chain(stacks(tmp_path, previous))
    return caught.value


def test_the_repository_chain_is_read_from_its_stack_files():
    assert promotion_chain(STACKS_DIR) == PROMOTION_CHAIN


def test_the_chain_follows_previous_stage_not_the_names(tmp_path):
    # 'zeta' sorts last but comes first; 'laptop' names nothing and nobody names it
    chain = promotion_chain(stacks(tmp_path, {"zeta": None, "canary": "zeta", "beta": "canary", "laptop": None}))
    assert chain == ("zeta", "canary", "beta")


def test_a_new_stage_joins_the_chain_through_its_stack_file_alone(tmp_path):
    previous = {"alpha": None, "staging": "alpha", "production": "staging", "local": None}
    assert promotion_chain(stacks(tmp_path, previous)) == PROMOTION_CHAIN
    previous |= {"canary": "staging", "production": "canary"}
    assert promotion_chain(stacks(tmp_path, previous)) == ("alpha", "staging", "canary", "production")


def test_a_stage_without_a_promotion_section_is_outside_the_chain(tmp_path):
    stacks(tmp_path, {"alpha": None, "staging": "alpha"})
    (tmp_path / "Pulumi.local.yaml").write_text("config: {}\n")
    assert promotion_chain(tmp_path) == ("alpha", "staging")


def test_a_fork_names_both_stages_and_the_key(tmp_path):
    error = refusal(tmp_path, {"alpha": None, "staging": "alpha", "qa": "alpha"})
    assert error.source == str(tmp_path / "Pulumi.staging.yaml")
    (problem,) = error.problems
    assert problem.path == KEY
    assert f"'alpha' is also the previous stage of 'qa' ({tmp_path / 'Pulumi.qa.yaml'})" in problem.message
    assert "linear" in problem.message


def test_a_cycle_is_refused_with_its_stages(tmp_path):
    error = refusal(tmp_path, {"alpha": "staging", "staging": "alpha", "local": None})
    assert error.source == str(tmp_path / "Pulumi.alpha.yaml")
    assert [problem.path for problem in error.problems] == [KEY]
    assert "cycle (alpha <- staging <- alpha)" in error.problems[0].message


def test_a_cycle_beside_a_chain_is_refused(tmp_path):
    error = refusal(tmp_path, {"alpha": None, "staging": "alpha", "x": "y", "y": "x"})
    assert error.source == str(tmp_path / "Pulumi.x.yaml") and "cycle (x <- y <- x)" in error.problems[0].message


def test_a_stage_naming_itself_is_refused(tmp_path):
    error = refusal(tmp_path, {"alpha": None, "staging": "staging"})
    assert error.source == str(tmp_path / "Pulumi.staging.yaml")
    assert error.problems[0].path == KEY and "names itself" in error.problems[0].message


def test_a_previous_stage_without_a_stack_file_is_refused(tmp_path):
    error = refusal(tmp_path, {"alpha": None, "staging": "alhpa"})
    assert error.source == str(tmp_path / "Pulumi.staging.yaml")
    assert error.problems[0].path == KEY
    assert "'alhpa', which has no stack file (stacks: alpha, staging)" in error.problems[0].message


def test_two_chains_are_refused(tmp_path):
    error = refusal(tmp_path, {"alpha": None, "staging": "alpha", "dev": None, "qa": "dev"})
    assert error.source == str(tmp_path / "Pulumi.qa.yaml") and error.problems[0].path == KEY
    assert "second promotion chain (dev -> qa) beside alpha -> staging" in error.problems[0].message


def test_no_chain_at_all_is_refused(tmp_path):
    error = refusal(tmp_path, {"local": None})
    assert error.source == str(tmp_path) and error.problems[0].path == KEY
    assert "there is no promotion chain" in error.problems[0].message


def test_a_malformed_previous_stage_names_its_file_and_key(tmp_path):
    stacks(tmp_path, {"alpha": None})
    (tmp_path / "Pulumi.staging.yaml").write_text(
        "config:\n  workflow-platform:promotion:\n    previousStage: Alpha_1\n"
        "    previousStack: organization/workflow-platform/Alpha_1\n"
    )
    with pytest.raises(ConfigError) as caught:
        promotion_chain(tmp_path)
    assert caught.value.source == str(tmp_path / "Pulumi.staging.yaml")
    assert KEY in {problem.path for problem in caught.value.problems}


def test_promote_reads_the_chain_from_the_stack_files(tmp_path, monkeypatch):
    import wfdeploy.promotion.deployer as promotion

    monkeypatch.setattr(promotion, "STACKS_DIR", stacks(tmp_path, {"dev": None, "qa": "dev", "live": "qa"}))
    promotion.check_chain("dev", "qa")
    promotion.check_chain("checkout", "dev")
    with pytest.raises(promotion.Refusal, match="refusing to skip qa: promote dev -> qa first"):
        promotion.check_chain("dev", "live")
    with pytest.raises(promotion.Refusal, match="not a stage of the promotion chain"):
        promotion.check_chain("staging", "production")


def test_promote_refuses_a_forked_chain_naming_the_file(tmp_path, monkeypatch):
    import wfdeploy.promotion.deployer as promotion

    monkeypatch.setattr(promotion, "STACKS_DIR", stacks(tmp_path, {"dev": None, "qa": "dev", "uat": "dev"}))
    with pytest.raises(promotion.Refusal) as caught:
        promotion.check_chain("dev", "qa")
    assert caught.value.code == promotion.REFUSED
    assert str(tmp_path / "Pulumi.qa.yaml") in str(caught.value) and KEY in str(caught.value)
