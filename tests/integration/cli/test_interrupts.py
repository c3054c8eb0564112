"""SIGINT and SIGTERM to a real `wfdeploy render`: one line, exit 128 + signal, no child left, no temporary folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

WFDEPLOY = str(Path(sys.executable).parent / "wfdeploy")


def _stat(pid: int) -> tuple[int, int, int, str] | None:
    """(ppid, process group, session, start time) of a live process, None when it is gone.

    A zombie (state Z) has ended: under a PID 1 that reaps no orphans (a container whose first process is
    the test runner) an ended child stays one, and must not count as outliving wfdeploy.
    """
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = raw[raw.rindex(")") + 2:].split()  # the command name may hold spaces and parentheses
    if fields[0] == "Z":
        return None
    return int(fields[1]), int(fields[2]), int(fields[3]), fields[19]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return ""


def descendants(root: int) -> dict[int, tuple[str, str]]:
    """Every live process below `root`: pid -> (start time, command line)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))):
            parents[int(entry.name)] = stat
    found = {}
    for pid in parents:
        ancestor = pid
        while ancestor in parents and ancestor not in (root, 0, 1):
            ancestor = parents[ancestor][0]
        if ancestor == root and pid != root:
            found[pid] = (parents[pid][3], _cmdline(pid))
    return found


def still_alive(processes: dict[int, tuple[str, str]]) -> list[str]:
    """Those of `processes` that still run (the same process: same pid and start time)."""
    return [command for pid, (started, command) in processes.items() if (stat := _stat(pid)) and stat[3] == started]


def start_render(argv: list[str], build: Path) -> subprocess.Popen:
    env = {**os.environ, "WFDEPLOY_BUILD_DIR": str(build)}
    return subprocess.Popen([WFDEPLOY, "render", *argv], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(0.2)
    pytest.fail(f"{what} did not happen within {timeout:.0f}s")


def interrupt(process: subprocess.Popen, signum: int, seen: dict[int, tuple[str, str]]) -> tuple[int, str]:
    process.send_signal(signum)
    try:
        _, err = process.communicate(timeout=60)  # returns only when no one holds its stdout/stderr any more
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("the command did not end within 60 s of the signal, or a child still holds its output")
    # multiprocessing's resource tracker ends on its own once its pipe closes: a moment, never a minute
    deadline = time.monotonic() + 5
    while still_alive(seen) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert still_alive(seen) == [], "children outlived wfdeploy"
    return process.returncode, err


def gate_tool_running(process: subprocess.Popen, tool: str):
    def check():
        below = descendants(process.pid)
        return below if any(tool in command for _, command in below.values()) else None
    return check


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"])
def test_a_signal_while_checkov_runs_ends_render_with_one_line_and_no_child_left(tmp_path, signum, code):
    process = start_render(["alpha"], tmp_path / "build")
    seen = wait_for(gate_tool_running(process, "checkov"), 300, "checkov starting under render")
    returncode, err = interrupt(process, signum, seen)
    assert returncode == code
    assert err.splitlines() == [f"wfdeploy: interrupted by {signal.Signals(signum).name}; stopped its tools, removed unfinished output"]
    assert sorted(p.name for p in (tmp_path / "build").iterdir()) == ["alpha"]


# The stage folder is written in well under a second, too short a window to hit by polling: this render
# pauses after its first manifest, so the signal always lands while the temporary folder is half-written.
PAUSED_AFTER_FIRST_FILE = """
import sys, time
import wfdeploy.render.writer as writer
real_dump = writer.dump_yaml
def dump_then_pause(obj):
    text = real_dump(obj)
    writer.dump_yaml = real_dump
    sys.stdout.write("first manifest dumped\\n"); sys.stdout.flush()
    time.sleep(600)
    return text
writer.dump_yaml = dump_then_pause
from wfdeploy.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_sigint_while_the_stage_folder_is_written_removes_the_temporary_folder(tmp_path):
    build = tmp_path / "build"
    env = {**os.environ, "WFDEPLOY_BUILD_DIR": str(build)}
    process = subprocess.Popen([sys.executable, "-c", PAUSED_AFTER_FIRST_FILE, "render", "alpha", "--skip-gates"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline() == "first manifest dumped\n"
    assert len(list(build.glob(".alpha-*"))) == 1, "the render writes into a temporary folder beside the stage's"
    seen = descendants(process.pid)
    returncode, err = interrupt(process, signal.SIGINT, seen)
    assert returncode == 130
    assert err.splitlines() == ["wfdeploy: interrupted by SIGINT; stopped its tools, removed unfinished output"]
    assert list(build.glob(".alpha-*")) == []
    assert not (build / "alpha").exists(), "a half-written stage folder is never swapped in"


def test_sigterm_to_render_all_ends_every_pool_worker_and_their_tools(tmp_path):
    process = start_render(["--all"], tmp_path / "build")
    seen = wait_for(gate_tool_running(process, "checkov"), 400, "checkov starting under a pool worker")
    # the pool workers: forks of wfdeploy (its own command line), or of a forkserver (multiprocessing's)
    own = _cmdline(process.pid)
    assert sum(command == own or "multiprocessing" in command for _, command in seen.values()) >= 2
    returncode, err = interrupt(process, signal.SIGTERM, seen)
    assert returncode == 143
    assert err.splitlines() == ["wfdeploy: interrupted by SIGTERM; stopped its tools, removed unfinished output"]
    assert list((tmp_path / "build").glob(".*-*")) == []
