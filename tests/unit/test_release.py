"""Releases: what a stage runs, how it is identified, and what the program exports about it."""

from __future__ import annotations

import pytest

from components.config import ConfigError
from components.promotion import NO_CANDIDATE
from components.release import CONFIG_INPUTS, Release, config_files, config_hash, image_digest, release_of, with_digest
from tests.stagehelpers import PROJECT_ROOT, PROMOTION_CHAIN, load_stage_with, section
from wfdeploy.render.synth import synthesize

DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64


def test_release_id_changes_with_each_of_its_three_facts():
    base = Release(DIGEST_A, {"cnpg": "cloudnative-pg@0.26.0"}, "1" * 64)
    assert base.id == Release(DIGEST_A, {"cnpg": "cloudnative-pg@0.26.0"}, "1" * 64).id
    assert base.id.startswith("r-") and len(base.id) == 18
    assert Release(DIGEST_B, base.charts, base.config_hash).id != base.id
    assert Release(DIGEST_A, {"cnpg": "cloudnative-pg@0.27.0"}, base.config_hash).id != base.id
    assert Release(DIGEST_A, base.charts, "2" * 64).id != base.id


def test_release_round_trips_through_its_record_and_rejects_a_tampered_one():
    release = Release(DIGEST_A, {"cnpg": "cloudnative-pg@0.26.0"}, "1" * 64)
    assert Release.from_dict(release.to_dict()) == release
    tampered = release.to_dict() | {"imageDigest": DIGEST_B}
    with pytest.raises(ValueError, match="does not match"):
        Release.from_dict(tampered)


def test_release_differences_name_the_fact_that_differs():
    a = Release(DIGEST_A, {"x": "x@1"}, "1" * 64)
    assert a.differences(a) == []
    assert "chart versions (x)" in a.differences(Release(DIGEST_A, {"x": "x@2"}, "1" * 64))
    assert "stage-independent configuration" in a.differences(Release(DIGEST_A, {"x": "x@1"}, "2" * 64))[0]


def test_image_digest_of_a_tag_only_image_is_marked_unpinned_and_not_deployable():
    assert image_digest(f"ghcr.io/example/svc:1.0@{DIGEST_A}") == DIGEST_A
    assert image_digest("localhost/workflow-service:dev") == "unpinned:dev"
    assert not Release("unpinned:dev").deployable and Release(DIGEST_A).deployable


def test_with_digest_keeps_repository_and_tag():
    assert with_digest(f"ghcr.io/example/svc:1.4.2@{DIGEST_A}", DIGEST_B) == f"ghcr.io/example/svc:1.4.2@{DIGEST_B}"
    assert with_digest(f"ghcr.io/example/svc@{DIGEST_A}", DIGEST_B) == f"ghcr.io/example/svc@{DIGEST_B}"


def _tree(root, files: dict[str, str]):
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)


def test_config_hash_covers_program_charts_and_policies_but_not_stack_files(tmp_path):
    _tree(
        tmp_path,
        {
            "Pulumi.yaml": "name: workflow-platform\n",
            "components/workflow/__init__.py": "x = 1\n",
            "charts/values/cnpg.yaml": "a: 1\n",
            "policies/__main__.py": "p = 1\n",
            "stacks/Pulumi.alpha.yaml": "config: {}\n",
            "wfdeploy/cli.py": "c = 1\n",
            "components/__pycache__/x.cpython-311.pyc": "junk",
        },
    )
    before = config_hash(tmp_path)
    # stage-dependent files, tooling and caches do not change the release
    _tree(tmp_path, {"stacks/Pulumi.alpha.yaml": "config: {a: 1}\n", "wfdeploy/cli.py": "c = 2\n"})
    _tree(tmp_path, {"components/__pycache__/x.cpython-311.pyc": "other junk"})
    assert config_hash(tmp_path) == before
    for path in ("components/workflow/__init__.py", "charts/values/cnpg.yaml", "policies/__main__.py", "Pulumi.yaml"):
        original = (tmp_path / path).read_text()
        (tmp_path / path).write_text(original + "# changed\n")
        assert config_hash(tmp_path) != before, path
        (tmp_path / path).write_text(original)
    assert config_hash(tmp_path) == before


def test_config_inputs_of_this_repository_exclude_stacks_and_tooling():
    relative = {path.relative_to(PROJECT_ROOT).as_posix() for path in config_files()}
    assert "components/platform.py" in relative and "Pulumi.yaml" in relative
    assert not any(name.split("/")[0] in ("stacks", "wfdeploy", "tests", "docs", "runbooks") for name in relative)
    assert "stacks/**/*" not in CONFIG_INPUTS


@pytest.mark.parametrize("stage", ["local", "alpha", "staging", "production"])
def test_every_stage_exports_the_release_it_runs(synthesized, stage):
    outputs = synthesized(stage).outputs
    config = load_stage_with(stage).config
    exported = Release.from_dict(outputs["release"])  # also checks the id matches its facts
    expected = release_of(config.images.workflow_service)
    assert (exported.image_digest, exported.charts) == (expected.image_digest, expected.charts)
    # the session's synthesis may predate an edit made while the tests run; a fresh one must match exactly
    assert len(exported.config_hash) == 64
    assert outputs["verifiedRelease"] is None  # nothing recorded as verified in the repository's stack files


def test_staging_and_production_read_the_previous_stage_verified_release_with_a_placeholder_offline(synthesized):
    for stage, previous in (("staging", "alpha"), ("production", "staging")):
        synthesis = synthesized(stage)
        assert synthesis.outputs["candidateRelease"] == NO_CANDIDATE.format(stack=f"organization/workflow-platform/{previous}")
        assert synthesis.outputs["runsCandidate"] is False
    for stage in ("local", "alpha"):
        assert "candidateRelease" not in synthesized(stage).outputs


def test_verified_release_is_exported_only_while_the_marker_names_the_running_release():
    release_id = release_of(load_stage_with("alpha").config.images.workflow_service).id
    promotion = section("alpha", "promotion")
    marked = synthesize(load_stage_with("alpha", {"workflow-platform:promotion": promotion | {"verifiedRelease": release_id}}))
    assert marked.outputs["release"]["id"] == release_id
    assert marked.outputs["verifiedRelease"] == marked.outputs["release"]
    stale = synthesize(load_stage_with("alpha", {"workflow-platform:promotion": promotion | {"verifiedRelease": "r-" + "0" * 16}}))
    assert stale.outputs["verifiedRelease"] is None


def test_promotion_chain_in_the_stack_files_is_alpha_staging_production():
    previous = {stage: load_stage_with(stage).config.promotion.previous_stage for stage in PROMOTION_CHAIN}
    assert previous == {"alpha": None, "staging": "alpha", "production": "staging"}
    assert load_stage_with("local").config.promotion.previous_stage is None
    assert load_stage_with("production").config.promotion.require_confirmation
    assert not load_stage_with("staging").config.promotion.require_confirmation


@pytest.mark.parametrize(
    "change, message",
    [
        ({"previousStack": "organization/workflow-platform/alpha", "previousStage": "alpha2"}, "previousStack must be"),
        ({"previousStack": "organization/other-project/alpha"}, "previousStack must be"),
        ({"previousStack": "alpha"}, "expected 'organization/workflow-platform/<stage>'"),
        ({"previousStage": None, "previousStack": "organization/workflow-platform/alpha"}, "set together"),
        ({"pulumiVersion": {"minimum": "4.0.0", "below": "3.0.0"}}, "must be below"),
        ({"pulumiVersion": {"minimum": "3.x", "below": "4.0.0"}}, "MAJOR.MINOR.PATCH"),
        ({"requiredCrds": ["Gateways"]}, "plural"),
        ({"requiredOperators": ["cnpg-operator"]}, "namespace"),
        ({"verifiedRelease": "latest"}, "release id"),
    ],
)
def test_promotion_section_rejects_bad_values_naming_the_key(change, message):
    promotion = {k: v for k, v in (section("staging", "promotion") | change).items() if v is not None}
    with pytest.raises(ConfigError) as error:
        load_stage_with("staging", {"workflow-platform:promotion": promotion})
    assert "workflow-platform:promotion" in str(error.value) and message in str(error.value)


def test_the_code_computing_the_release_is_part_of_the_release():
    relative = {path.relative_to(PROJECT_ROOT).as_posix() for path in config_files()}
    assert "components/release.py" in relative


def test_the_program_never_imports_the_command_line_tool():
    """components/ is below wfdeploy/: the program (and the release it exports) must not depend on the CLI."""
    import ast

    offending = []
    for path in sorted((PROJECT_ROOT / "components").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offending += [f"{path.relative_to(PROJECT_ROOT)}: {name}" for name in names if name.split(".")[0] == "wfdeploy"]
    assert offending == []
