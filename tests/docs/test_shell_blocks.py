"""Every fenced shell block (sh, bash, console) in every markdown file is valid shell that runs as written."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.docs.markdown import block_script, markdown_files, relative, shell_blocks, untemplated

_QUOTED = re.compile(r"'[^']*'|\"(?:[^\"\\]|\\.)*\"")
#: `<name>` outside quotes: valid shell (a redirection), but a placeholder that cannot run as written.
_ANGLE_PLACEHOLDER = re.compile(r"(?<![<\w$])<[A-Za-z][^<>\n]*>(?!\()")
_COMMENT = re.compile(r"(?:^|(?<=\s))#.*$", re.M)


def _angle_placeholders(script: str) -> list[str]:
    return _ANGLE_PLACEHOLDER.findall(_COMMENT.sub("", _QUOTED.sub("''", script)))


def _syntax_error(script: str) -> str | None:
    result = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True, timeout=30)
    return result.stderr.strip() or None if result.returncode else None


def test_bash_n_catches_a_placeholder_written_as_a_redirection():
    assert _syntax_error(".venv/bin/wfdeploy rollback alpha --to <id>\n") is not None
    assert _syntax_error(".venv/bin/wfdeploy rollback alpha --to \"$RELEASE\"\n") is None


def test_an_angle_bracket_placeholder_is_reported_but_quoted_text_is_not():
    assert _angle_placeholders("kubectl --context <ctx> get pods\n") == ["<ctx>"]
    assert _angle_placeholders("export URL=s3://<state bucket>/records\n") == ["<state bucket>"]
    assert _angle_placeholders("psql -c 'SELECT 1 <> 2' <<EOF\ndiff <(a) <(b)   # writes build/<stage>/\n") == []


@pytest.mark.parametrize("path", [p for p in markdown_files() if shell_blocks(p)], ids=relative)
def test_shell_blocks_hold_no_angle_bracket_placeholders(path):
    problems = [
        f"{block.where}: {placeholder} is a redirection in shell; use a variable (\"$NAME\") instead"
        for block in shell_blocks(path)
        for placeholder in _angle_placeholders(untemplated(block_script(block)))
    ]
    assert problems == []


@pytest.mark.parametrize("path", [p for p in markdown_files() if shell_blocks(p)], ids=relative)
def test_shell_blocks_are_valid_shell(path):
    problems = []
    for block in shell_blocks(path):
        error = _syntax_error(untemplated(block_script(block)))
        if error:
            problems.append(f"{block.where} ({block.language}): {error}")
    assert problems == []
