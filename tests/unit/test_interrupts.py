"""SIGINT/SIGTERM become one exception: clean-up runs, tool process groups die, one line, exit 128 + signal."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from wfdeploy import interrupts
from wfdeploy.cli import main
from wfdeploy.interrupts import Interrupted, run_tool

#: A tool that starts a child of its own and writes the child's pid: the child must die with the gate too.
TOOL_WITH_A_CHILD = [
    sys.executable, "-c",
    "import subprocess, sys, time; child = subprocess.Popen(['sleep', '60']); "
    "open(sys.argv[1], 'w').write(str(child.pid)); time.sleep(60)",
]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")  # a zombie has ended; only its parent's wait is missing


def wait_until_gone(pid: int, seconds: float = 5) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def signal_later(signum: int, seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, signal.raise_signal, args=(signum,))
    timer.start()
    return timer


def child_pid(path: Path) -> int:
    deadline = time.monotonic() + 10
    while not (path.is_file() and path.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return int(path.read_text())


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"])
def test_an_interrupted_tool_dies_with_its_own_children(tmp_path, signum, code):
    marker = tmp_path / "child.pid"
    with interrupts.handled():
        timer = signal_later(signum, 1.0)
        with pytest.raises(Interrupted) as caught:
            run_tool([*TOOL_WITH_A_CHILD, str(marker)], timeout=30)
        timer.join()
    assert caught.value.code == code and caught.value.signal_name == signal.Signals(signum).name
    assert wait_until_gone(child_pid(marker)), "the tool's child outlived the interrupt"


def test_a_tool_past_its_timeout_dies_with_its_own_children(tmp_path):
    marker = tmp_path / "child.pid"
    with pytest.raises(subprocess.TimeoutExpired):
        run_tool([*TOOL_WITH_A_CHILD, str(marker)], timeout=1.5)
    assert wait_until_gone(child_pid(marker))


def test_run_tool_returns_what_subprocess_run_would():
    completed = run_tool([sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"],
                         timeout=30)
    assert (completed.returncode, completed.stdout, completed.stderr) == (3, "out\n", "err\n")


def test_a_signal_that_lands_in_a_finalizer_is_delivered_again_in_ordinary_code():
    class SignalledWhileCollected:
        def __del__(self):
            signal.raise_signal(signal.SIGTERM)
            for _ in range(1000):  # the handler runs here, inside the finalizer, which swallows its exception
                pass

    with interrupts.handled():
        with pytest.raises(Interrupted):
            item = SignalledWhileCollected()
            del item
            deadline = time.monotonic() + 2  # the rest of the command: the interrupt must surface in it
            while time.monotonic() < deadline:
                pass


def test_handled_restores_the_callers_handlers():
    before = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM), sys.unraisablehook)
    with interrupts.handled():
        assert signal.getsignal(signal.SIGTERM) is not before[1]
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM), sys.unraisablehook) == before


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_command_prints_one_line_and_exits_128_plus_the_signal(monkeypatch, capsys, signum, code):
    def interrupted_load(stage):
        signal.raise_signal(signum)
        time.sleep(5)

    monkeypatch.setattr("wfdeploy.commands.prologue.load_stage", interrupted_load)
    assert main(["validate", "alpha"]) == code
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"wfdeploy: interrupted by {signal.Signals(signum).name}; stopped its tools, removed unfinished output"
    ]
