"""Every repository path a document names in code (`components/…`, `tests/…::test_x`) exists."""

from __future__ import annotations

import re

import pytest

from tests.docs.markdown import code_spans, is_repo_path, markdown_files, relative
from tests.stagehelpers import PROJECT_ROOT

#: Upper-case words that stand for a value in a documented path, e.g. `runbooks/alerts/ALERT.md`.
_PLACEHOLDER = re.compile(r"(?<![A-Za-z])(?:STAGE|NAME|ALERT|RELEASE|ID|VERB|CONCERN)(?![A-Za-z])")


def _missing(text: str) -> str | None:
    """Why a repository path (optionally `file.py::test_name`) does not resolve, or None."""
    file_part, _, test_name = text.partition("::")
    file_part = file_part.removeprefix("./")
    pattern = _PLACEHOLDER.sub("*", file_part)
    if pattern != file_part:  # `stacks/Pulumi.STAGE.yaml` names a family: one member must exist
        return None if any(PROJECT_ROOT.glob(pattern)) else f"nothing matches {file_part}"
    path = PROJECT_ROOT / file_part
    if not path.exists():
        return f"no such file or folder {file_part}"
    if test_name:
        name = test_name.split("[", 1)[0]
        if not path.is_file() or not re.search(rf"^\s*(?:async\s+)?def {re.escape(name)}\(", path.read_text(), re.M):
            return f"{file_part} defines no {name}"
    return None


def test_a_named_test_that_does_not_exist_is_reported():
    assert _missing("tests/docs/test_paths.py::test_a_named_test_that_does_not_exist_is_reported") is None
    assert _missing("tests/docs/test_paths.py::test_nothing") is not None
    assert _missing("components/no_such_module.py") is not None
    assert _missing("stacks/Pulumi.STAGE.yaml") is None
    assert _missing("stacks/Pulumi.STAGE.json") is not None


@pytest.mark.parametrize("path", markdown_files(), ids=relative)
def test_repository_paths_named_in_code_exist(path):
    problems = []
    for span in code_spans(path):
        for word in span.text.split():
            word = word.rstrip(".,:;")
            if is_repo_path(word):
                reason = _missing(word)
                if reason:
                    problems.append(f"{span.where}: `{word}`: {reason}")
    assert problems == []
