"""The operations documents have the shape an on-call engineer relies on, and say what the code says."""

from __future__ import annotations

import re
import tomllib

import pytest

from components.charts import pinned_charts
from tests.docs.markdown import headings, link_targets, markdown_files, relative, section_text, shell_blocks, tables
from tests.stagehelpers import PROJECT_ROOT

SECURITY = PROJECT_ROOT / "SECURITY.md"
CHANGELOG = PROJECT_ROOT / "CHANGELOG.md"
GAME_DAYS = PROJECT_ROOT / "docs" / "game-days.md"
README = PROJECT_ROOT / "README.md"

#: The controls the security document must map to code and tests (issue 10).
CONTROLS = (
    "input validation", "rate limiting", "NetworkPolicies", "Pod Security", "secrets handling",
    "encryption at rest", "encryption in transit", "least-privilege IAM", "policy pack", "scanning",
)
GAME_DAY_PARTS = ("Goal", "Steps", "Expected observations", "Clean-up")
_TEST_REFERENCE = re.compile(r"`(tests/[\w/.\-]+\.py)::(test_\w+)`")
_PATH_REFERENCE = re.compile(r"`((?:components|wfdeploy|policies|charts|stacks|scripts|\.github)/[\w/.\-]*)`")


def _control_rows() -> dict[str, dict[str, str]]:
    header, *rows = tables(section_text(SECURITY, "Controls"))[0]
    return {row[0].strip("* "): dict(zip(header, row)) for row in rows}


@pytest.mark.parametrize("control", CONTROLS)
def test_security_document_maps_each_control_to_code_and_a_test(control):
    rows = _control_rows()
    assert control in rows, f"SECURITY.md: no row for {control!r} under 'Controls' (have {sorted(rows)})"
    row = rows[control]
    assert _PATH_REFERENCE.search(row["implemented in"]), f"{control}: names no file that implements it"
    assert _TEST_REFERENCE.search(row["proven by"]), f"{control}: names no `tests/…py::test_…` that proves it"


def test_security_document_says_how_to_report_a_vulnerability_and_has_a_threat_model():
    titles = [title for _, title in headings(SECURITY)]
    assert "Reporting a vulnerability" in titles
    assert any(title.startswith("Threat model") for title in titles)


def test_game_days_cover_the_four_exercises_each_with_goal_steps_observations_and_clean_up():
    exercises = [title for level, title in headings(GAME_DAYS) if level == 2 and title.lower().startswith("exercise")]
    joined = " ".join(exercises).lower()
    for topic in ("error-rate spike", "rollback", "restore drill", "networkpolicy"):
        assert topic in joined, f"docs/game-days.md: no exercise about {topic!r} (have {exercises})"
    for exercise in exercises:
        text = section_text(GAME_DAYS, exercise)
        parts = [line[4:].strip() for line in text.splitlines() if line.startswith("### ")]
        assert parts == list(GAME_DAY_PARTS), f"{exercise!r}: sections {parts}, expected {list(GAME_DAY_PARTS)}"
        assert "```sh" in section_text(GAME_DAYS, exercise).split("### Expected observations")[0], f"{exercise!r}: steps without commands"


def test_game_days_run_on_alpha_only():
    for block in shell_blocks(GAME_DAYS):
        for stage in ("staging", "production"):
            assert not re.search(rf"(--stack|-s|--context)[ =]\S*{stage}|wfdeploy \w+ {stage}", block.text), (
                f"{block.where}: a game-day command touches {stage}"
            )


def _releases() -> list[tuple[str, str]]:
    """(version, date) of every `## [x.y.z] - YYYY-MM-DD` heading, newest first; Unreleased as ('Unreleased', '')."""
    found = []
    for level, title in headings(CHANGELOG):
        if level != 2:
            continue
        match = re.fullmatch(r"\[(Unreleased|\d+\.\d+\.\d+)\](?: - (\d{4}-\d{2}-\d{2}))?", title)
        assert match, f"CHANGELOG.md: release heading {title!r} is not '[x.y.z] - YYYY-MM-DD' or '[Unreleased]'"
        found.append((match.group(1), match.group(2) or ""))
    return found


def test_changelog_lists_releases_newest_first_and_its_latest_is_the_package_version():
    releases = _releases()
    versions = [tuple(map(int, v.split("."))) for v, _ in releases if v != "Unreleased"]
    assert versions == sorted(versions, reverse=True) and versions, "CHANGELOG.md: releases must be newest first"
    dates = [d for _, d in releases if d]
    assert dates == sorted(dates, reverse=True)
    package = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert ".".join(map(str, versions[0])) == package, f"CHANGELOG.md's latest release is not pyproject's {package}"


def test_changelog_sections_use_the_keep_a_changelog_kinds():
    kinds = {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}
    subsections = {title for level, title in headings(CHANGELOG) if level == 3}
    assert subsections and subsections <= kinds, f"unexpected sections {subsections - kinds}"


def test_changelog_pins_the_charts_this_checkout_deploys():
    """The newest section's chart list is charts/charts.yaml: a chart upgrade is a release note."""
    newest = next(title for level, title in headings(CHANGELOG) if level == 2)
    rows = [row for table in tables(section_text(CHANGELOG, newest)) for row in table[1:]]
    listed = {row[0].strip("`"): row[2].strip("`") for row in rows if len(row) >= 3}
    assert listed == {release: chart.version for release, chart in pinned_charts().items()}


def test_every_document_is_linked_from_the_readme_documentation_section():
    linked = {
        (README.parent / link.text.split("#")[0]).resolve()
        for link in link_targets(README)
        if not re.match(r"\w+://", link.text)
    }
    documents = [p for p in markdown_files() if p.parent == PROJECT_ROOT / "docs" or p in (SECURITY, CHANGELOG)]
    assert [relative(p) for p in documents if p.resolve() not in linked] == []


def test_gates_a_document_lists_are_the_gates_render_runs():
    """A table whose first column is `gate` names only gates that `wfdeploy render` really runs."""
    from wfdeploy.render.gates import GATES

    registered = set(GATES)
    problems = []
    for path in markdown_files():
        for table in tables(path.read_text(encoding="utf-8")):
            if table[0][0].strip().lower() != "gate":
                continue
            for row in table[1:]:
                for name in re.findall(r"`([\w-]+)`", row[0]):
                    if name not in registered:
                        problems.append(f"{relative(path)}: gate `{name}` is not run by render (have {sorted(registered)})")
    assert problems == []
