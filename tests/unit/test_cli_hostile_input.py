"""Careless and hostile command lines: refused with the argument named, no traceback, nothing written under build/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from components.config import ConfigError, stack_file_path
from tests.fakeautomation import healthy
from wfdeploy.cli import main
from wfdeploy.paths import PROJECT_ROOT
from wfdeploy.promotion import automation as boundary

#: Stage names that are not names (path parts, hidden, empty, too long, not ASCII, control characters) or reserved.
BAD_STAGE_NAMES = {
    "path parts (issue 18)": ("d/../../../outside-stack/x", "is not a stage name"),
    "parent folder": ("..", "is not a stage name"),
    "current folder": (".", "is not a stage name"),
    "leading dot": (".alpha-1234", "is not a stage name"),
    "absolute path": ("/etc/passwd", "is not a stage name"),
    "backslash": ("alpha\\..\\x", "is not a stage name"),
    "empty": ("", "is not a stage name"),
    "101 characters": ("a" * 101, "is not a stage name"),
    "not ASCII": ("alphä", "is not a stage name"),
    "newline": ("alpha\n", "is not a stage name"),
    "space": ("al pha", "is not a stage name"),
    "shell": ("alpha;rm -rf ~", "is not a stage name"),
    "NUL": ("alpha\x00", "is not a stage name"),
    "reserved results folder": ("results", "is reserved"),
    "reserved local-tier folder": ("local-tier", "is reserved"),
}

#: Every verb that takes a stage, with the stage in each position it can take one.
STAGE_COMMANDS = {
    "validate": lambda s: ["validate", s],
    "render": lambda s: ["render", s],
    "verify": lambda s: ["verify", s],
    "up": lambda s: ["up", s],
    "down": lambda s: ["down", s],
    "loadtest": lambda s: ["loadtest", s],
    "preflight": lambda s: ["preflight", s],
    "rollback": lambda s: ["rollback", s],
    "rollback --list": lambda s: ["rollback", s, "--list"],
    "promote FROM": lambda s: ["promote", s, "alpha"],
    "promote TO": lambda s: ["promote", "alpha", s],
    "promote --confirm-stage": lambda s: ["promote", "alpha", "staging", "--confirm-stage", s],
}


@pytest.fixture
def recorded(monkeypatch):
    fake = healthy("alpha", "staging")
    monkeypatch.setattr(boundary, "default_automation", lambda: fake)
    return fake


def build_root() -> Path:
    return Path(os.environ["WFDEPLOY_BUILD_DIR"])


def run_cli(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exit_info:  # argparse's usage errors
        return exit_info.code


@pytest.mark.parametrize("name, message", BAD_STAGE_NAMES.values(), ids=BAD_STAGE_NAMES.keys())
@pytest.mark.parametrize("command", STAGE_COMMANDS.values(), ids=STAGE_COMMANDS.keys())
def test_every_stage_argument_refuses_what_is_not_a_stage_name(recorded, capsys, command, name, message):
    assert run_cli(command(name)) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert "argument" in err  # argparse names which argument (STAGE, FROM, TO, --confirm-stage)
    if message == "is not a stage name":
        assert "A-Z, a-z, 0-9, '-', '_' and '.'" in err  # the allowed form
    assert not build_root().exists()
    assert recorded.calls == []


@pytest.mark.parametrize(
    "argv",
    [["deploy", "alpha"], ["render", "alpha", "--force"], ["validate"], ["rollback", "alpha", "--to"], ["--nope"],
     ["render", "alpha", "--all"], ["promote", "alpha"], ["up", "local", "--ready-timeout", "soon"], []],
    ids=["unknown verb", "unknown flag", "missing stage", "flag without value", "unknown global flag",
         "stage and --all", "promote without TO", "number that is not", "no verb"],
)
def test_malformed_command_lines_are_usage_errors(recorded, capsys, argv):
    assert run_cli(argv) == 2
    err = capsys.readouterr().err
    assert "usage: wfdeploy" in err and "error:" in err and "Traceback" not in err
    assert not build_root().exists()
    assert recorded.calls == []


@pytest.mark.parametrize("name", ["alpha.bak", "a" * 100, "Alpha", "alpha_2"])
def test_a_well_formed_name_without_a_stack_file_is_named_with_the_known_stages(capsys, name):
    assert run_cli(["validate", name]) == 2
    assert run_cli(["render", name]) == 2  # bad input, as for validate
    err = capsys.readouterr().err
    assert err.count(f"no stack file for stage {name!r}; known stages: alpha,") == 2 and "Traceback" not in err
    assert not build_root().exists()


def test_a_stage_name_with_path_parts_never_reads_outside_the_stacks_folder(tmp_path, monkeypatch, capsys):
    stacks = tmp_path / "stacks"
    (stacks / "Pulumi.d").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    # a valid stack file where `d/../../outside/x` leads: before the fix, `validate` read it and said valid
    (outside / "x.yaml").write_text((PROJECT_ROOT / "stacks" / "Pulumi.alpha.yaml").read_text())
    monkeypatch.setattr("wfdeploy.stages.STACKS_DIR", stacks)
    assert run_cli(["validate", "d/../../outside/x"]) == 2
    assert "is not a stage name" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="is not a stage name"):
        stack_file_path(stacks, "d/../../outside/x")  # the same refusal for any caller, not only the CLI


def test_a_stack_file_that_is_a_symlink_out_of_the_folder_is_refused(tmp_path, monkeypatch, capsys):
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    secret = tmp_path / "elsewhere.yaml"
    secret.write_text((PROJECT_ROOT / "stacks" / "Pulumi.alpha.yaml").read_text())
    (stacks / "Pulumi.alpha.yaml").symlink_to(secret)
    monkeypatch.setattr("wfdeploy.stages.STACKS_DIR", stacks)
    assert run_cli(["validate", "alpha"]) == 2
    err = capsys.readouterr().err
    assert "Pulumi.alpha.yaml" in err and "resolves outside" in err and "Traceback" not in err


def test_render_all_without_stack_files_fails_naming_the_folder(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "stacks"
    empty.mkdir()
    monkeypatch.setattr("wfdeploy.stages.STACKS_DIR", empty)
    assert run_cli(["render", "--all"]) == 2
    err = capsys.readouterr().err
    assert f"no stack files (Pulumi.<stage>.yaml) in {empty}" in err
    assert not build_root().exists()
