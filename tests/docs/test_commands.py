"""Every `wfdeploy` verb and flag, script, make target, module and virtualenv tool a document names exists."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import re
from functools import cache
from pathlib import PurePosixPath

import pytest

from tests.docs.markdown import (
    block_script,
    code_spans,
    fenced_blocks,
    is_repo_path,
    markdown_files,
    relative,
    shell_blocks,
    shell_commands,
    untemplated,
)
from tests.stagehelpers import PROJECT_ROOT, STAGES
from wfdeploy.cli import build_parser

@cache
def _subparsers():
    parser = build_parser()
    action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return parser, action.choices


def _options(subparser) -> set[str]:
    return {option for action in subparser._actions for option in action.option_strings}


def _wfdeploy_argv(tokens: list[str]) -> list[str] | None:
    """The arguments after the `wfdeploy` program in one simple command, or None."""
    for index, token in enumerate(tokens):
        if PurePosixPath(token).name == "wfdeploy" and not token.endswith((".py", ".md")):
            return tokens[index + 1:]
        if token == "-m" and index + 1 < len(tokens) and tokens[index + 1] in {"wfdeploy", "wfdeploy.cli"}:
            return tokens[index + 2:]
    return None


def _parse_error(argv: list[str]) -> str | None:
    """argparse's complaint about a command line (or an unknown stage in it), or None when it would run."""
    parser, _ = _subparsers()
    # a shell variable ($STAGE) stands for a value: parse it as one (stage arguments refuse a literal '$')
    argv = [
        (token.split("=", 1)[0] + "=placeholder" if token.startswith("-") and "=" in token else "placeholder")
        if "$" in token else token
        for token in argv
    ]
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        try:
            args = parser.parse_args(argv)
        except SystemExit as stop:
            if stop.code:
                return stderr.getvalue().strip().splitlines()[-1]
            return None
    for attribute in ("stage", "source", "target"):
        value = getattr(args, attribute, None)
        if value and "$" not in value and value != "placeholder" and value not in {*STAGES, "checkout"}:
            return f"{value!r} is not a stage (stacks/Pulumi.<stage>.yaml: {', '.join(STAGES)})"
    return None


def _shell_command_problems(path) -> list[str]:
    """Full argument parsing of every `wfdeploy` command in the file's shell blocks: they run as written."""
    problems = []
    for block in shell_blocks(path):
        for tokens in shell_commands(untemplated(block_script(block))):
            argv = _wfdeploy_argv(tokens)
            if argv is None:
                continue
            error = _parse_error(argv)
            if error:
                problems.append(f"{block.where}: `wfdeploy {' '.join(argv)}`: {error}")
    return problems


def _mention_problems(path) -> list[str]:
    """Verbs and flags of `wfdeploy` mentioned in code spans and non-shell blocks (often with placeholders)."""
    _, verbs = _subparsers()
    texts = [(span.where, span.text) for span in code_spans(path)]
    texts += [(block.where, block.text) for block in fenced_blocks(path) if block.language not in {"sh", "bash", "shell", "console", "shell-session", "zsh", "json", "yaml"}]
    problems = []
    for where, text in texts:
        for module in re.findall(r"python3?\s+-m\s+([A-Za-z_][\w.]*)", text):
            if importlib.util.find_spec(module) is None:
                problems.append(f"{where}: `python -m {module}`: no such module")
        for match in re.finditer(r"(?:^|[\s/`(])wfdeploy\s+([a-z][\w-]*)((?:[ \t]+[^\s`;&)]+)*)", untemplated(text)):
            verb, rest = match.group(1), match.group(2)
            if verb not in verbs:
                problems.append(f"{where}: `wfdeploy {verb}`: no such verb (have: {', '.join(verbs)})")
                continue
            for word in re.split(r"[\s|\[\]]+", rest):
                flag = word.split("=", 1)[0].rstrip(".,:")
                if re.fullmatch(r"--?[a-zA-Z][\w-]*", flag) and flag not in _options(verbs[verb]):
                    problems.append(f"{where}: `wfdeploy {verb} {flag}`: no such option")
    return problems


def _tool_problems(path) -> list[str]:
    """Scripts, make targets, `python -m` modules and `.venv/bin/` tools used in shell blocks."""
    problems = []
    for block in shell_blocks(path):
        for tokens in shell_commands(untemplated(block_script(block))):
            while tokens and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", tokens[0]):
                tokens = tokens[1:]  # VAR=value prefixes
            if not tokens:
                continue
            program = tokens[0]
            if re.fullmatch(r"(\./)?(scripts|tools|benchmarks|\.venv[\w-]*/bin)/[\w.\-/]+", program):
                if not (PROJECT_ROOT / program).exists():
                    problems.append(f"{block.where}: `{program}` does not exist")
            for token in tokens[1:]:
                if is_repo_path(token) and not (PROJECT_ROOT / token.split("::")[0]).exists():
                    problems.append(f"{block.where}: `{token}` does not exist")
            if program == "make":
                makefile = PROJECT_ROOT / "Makefile"
                targets = re.findall(r"^([\w.-]+):", makefile.read_text(), re.M) if makefile.exists() else []
                for target in (t for t in tokens[1:] if not t.startswith("-")):
                    if target not in targets:
                        problems.append(f"{block.where}: `make {target}`: no such target (Makefile: {makefile.exists()})")
            if PurePosixPath(program).name.startswith("python") and "-m" in tokens:
                module = tokens[tokens.index("-m") + 1] if tokens.index("-m") + 1 < len(tokens) else ""
                if module and importlib.util.find_spec(module) is None:
                    problems.append(f"{block.where}: `python -m {module}`: no such module")
    return problems


def test_the_parser_knows_the_contract_verbs():
    _, verbs = _subparsers()
    assert {"validate", "render", "verify", "promote", "rollback"} <= set(verbs)


def test_a_made_up_flag_is_reported():
    assert _parse_error(["render", "--everything"]) is not None
    assert _parse_error(["render", "--all"]) is None
    assert _parse_error(["verify", "prod"]) is not None
    assert _parse_error(["promote", "checkout", "alpha", "--image", "$IMAGE"]) is None


@pytest.mark.parametrize("path", markdown_files(), ids=relative)
def test_wfdeploy_commands_in_shell_blocks_parse(path):
    assert _shell_command_problems(path) == []


@pytest.mark.parametrize("path", markdown_files(), ids=relative)
def test_wfdeploy_verbs_and_flags_mentioned_exist(path):
    assert _mention_problems(path) == []


@pytest.mark.parametrize("path", markdown_files(), ids=relative)
def test_scripts_make_targets_modules_and_tools_exist(path):
    assert _tool_problems(path) == []



def test_an_unknown_verb_or_flag_in_prose_is_reported(tmp_path):
    doc = tmp_path / "mentions.md"
    doc.write_text("Run `wfdeploy deploy alpha` or `wfdeploy render --everything`; `wfdeploy rollback STAGE --to ID` is fine.\n")
    problems = _mention_problems(doc)
    assert len(problems) == 2
    assert "no such verb" in problems[0] and "--everything" in problems[1]


def _known_stages_and_contexts() -> tuple[set[str], set[str]]:
    from tests.stagehelpers import load_stage_with

    return set(STAGES), {load_stage_with(stage).config.cluster.context for stage in STAGES}


def _target_problems(path) -> list[str]:
    """`pulumi … --stack S` and `kubectl --context C` in shell blocks name a real stage and a stage's context."""
    stages, contexts = _known_stages_and_contexts()
    problems = []
    for block in shell_blocks(path):
        for tokens in shell_commands(untemplated(block_script(block))):
            program = PurePosixPath(tokens[0]).name if tokens else ""
            for flag, known, what in (("--stack", stages, "stage"), ("-s", stages, "stage"), ("--context", contexts, "kube context")):
                if program not in {"pulumi", "kubectl", "wfdeploy"} or (flag == "-s" and program != "pulumi"):
                    continue
                if program == "pulumi" and flag == "--context":
                    continue
                for index, token in enumerate(tokens):
                    value = token.split("=", 1)[1] if token.startswith(flag + "=") else (
                        tokens[index + 1] if token == flag and index + 1 < len(tokens) else None)
                    if value is None or "$" in value or value == "placeholder" or value.startswith("organization/"):
                        continue
                    if value not in known:
                        problems.append(f"{block.where}: `{program} {flag} {value}`: no such {what} (have {', '.join(sorted(known))})")
    return problems


@pytest.mark.parametrize("path", markdown_files(), ids=relative)
def test_stacks_and_kube_contexts_in_shell_blocks_exist(path):
    assert _target_problems(path) == []


def test_a_misspelt_stack_or_context_is_reported(tmp_path):
    doc = tmp_path / "targets.md"
    doc.write_text("```sh\npulumi up --stack prod\nkubectl --context workflow-prod get pods\npulumi up --stack \"$STAGE\"\n```\n")
    problems = _target_problems(doc)
    assert len(problems) == 2 and "prod" in problems[0] and "workflow-prod" in problems[1]
