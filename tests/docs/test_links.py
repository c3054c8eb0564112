"""Every relative link in every markdown file of the repository resolves to a file (and its anchor)."""

from __future__ import annotations

import os
from urllib.parse import unquote, urlparse

import pytest

from tests.docs.markdown import anchors, link_targets, markdown_files, relative
from tests.stagehelpers import PROJECT_ROOT


def _broken_links(path):
    problems = []
    for link in link_targets(path):
        target = link.text
        if not target or "{{" in target or urlparse(target).scheme:
            continue  # external URL, or a Jinja2 placeholder rendered per stage
        file_part, _, fragment = target.partition("#")
        resolved = (path.parent / unquote(file_part)).resolve() if file_part else path
        if not resolved.exists():
            problems.append(f"{link.where}: link to {target!r}: no such file {resolved}")
            continue
        if not resolved.is_relative_to(PROJECT_ROOT):
            problems.append(f"{link.where}: link to {target!r} leaves the repository")
        elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
            problems.append(f"{link.where}: link to {target!r}: {relative(resolved)} has no heading #{fragment}")
    return problems


def test_the_repository_has_markdown_documents():
    names = {relative(path) for path in markdown_files()}
    assert {"README.md", "SECURITY.md", "CHANGELOG.md", "docs/operations-guide.md"} <= names


@pytest.mark.parametrize("path", markdown_files(), ids=relative)
def test_every_relative_link_resolves(path):
    assert _broken_links(path) == []



def test_a_missing_file_or_heading_is_reported(tmp_path):
    guide = PROJECT_ROOT / "docs" / "operations-guide.md"
    to_guide = os.path.relpath(guide, tmp_path)
    broken = tmp_path / "broken.md"
    broken.write_text(f"[a]({to_guide}#no-such-heading) [b](no-such-file.md) [c]({to_guide}#what-runs-where)\n")
    problems = _broken_links(broken)
    assert len(problems) == 2 and "no heading #no-such-heading" in problems[0] and "no such file" in problems[1]
