"""Ending on SIGINT or SIGTERM: children die with the parent, temporary folders go, one line, 128 + the signal.

The handlers turn either signal into `Interrupted`, an exception, so every
`finally` on the way out runs (render removes its build/.<stage>-XXXX folder)
and `run_tool` kills the tool's whole process group. A signal that lands in a
finalizer (where Python swallows exceptions) is delivered again. `wfdeploy` then prints one
line and exits 130 (SIGINT) or 143 (SIGTERM), the shells' convention.
"""

from __future__ import annotations

import _thread
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Iterator, Sequence

SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: How long after a swallowed interrupt it is raised again (the main thread has left the finalizer by then).
REDELIVERY_SECONDS = 0.01
#: A tool is waited for in slices this long, so that the main thread notices a signal soon.
WAIT_SLICE_SECONDS = 0.5


class Interrupted(SystemExit):
    """A signal asked the process to end; `code` is 128 + the signal number.

    A SystemExit, so that code catching Exception lets it through and a process
    that does not catch it (a pool worker) exits quietly with that code.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name


def _interrupt(signum: int, _frame) -> None:
    # a second signal must not cut the clean-up of the first one short
    for other in SIGNALS:
        signal.signal(other, signal.SIG_IGN)
    raise Interrupted(signum)


def _deliver_again(unraisable) -> None:
    """The handler ran inside a finalizer, which swallows exceptions: signal again, to raise in ordinary code."""
    if isinstance(unraisable.exc_value, Interrupted):
        signum = unraisable.exc_value.signum
        signal.signal(signum, _interrupt)
        # from another thread, a moment later: signalling from here would run the handler here again
        threading.Timer(REDELIVERY_SECONDS, _thread.interrupt_main, args=(signum,)).start()
        return
    sys.__unraisablehook__(unraisable)


def install() -> None:
    """Turn SIGINT and SIGTERM into `Interrupted` in this process (also a pool worker's initializer)."""
    for signum in SIGNALS:
        signal.signal(signum, _interrupt)
    sys.unraisablehook = _deliver_again


@contextlib.contextmanager
def handled() -> Iterator[None]:
    """`install` for the duration of a command, then restore what was there (a caller may be pytest)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach only the main thread; its own handlers stay in charge
        return
    previous = {signum: signal.getsignal(signum) for signum in SIGNALS}
    previous_hook = sys.unraisablehook
    install()
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        sys.unraisablehook = previous_hook


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL a tool started in a session of its own, with every process in its group, and reap it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _communicate(process: subprocess.Popen, command: Sequence[str], timeout: float, input: str | None = None) -> tuple[str, str]:
    """Wait for the tool in short slices (a signal another thread received is handled by this, the main, thread
    between them); kill its whole group on timeout or interrupt."""
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                remaining = max(deadline - time.monotonic(), 0)
                return process.communicate(input, timeout=min(WAIT_SLICE_SECONDS, remaining))
            except subprocess.TimeoutExpired:
                input = None  # sent with the first slice; communicate() refuses it again
                if time.monotonic() >= deadline:
                    raise subprocess.TimeoutExpired(list(command), timeout) from None
    except BaseException:
        kill_group(process)
        raise


def run_tool(command: Sequence[str], *, timeout: float, **kwargs) -> subprocess.CompletedProcess:
    """`subprocess.run(capture_output=True, text=True)` in a process group of its own.

    The group is killed whole on timeout or interrupt: the tool's own children are in it, so none outlives the gate.
    """
    with subprocess.Popen(
        list(command), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, **kwargs
    ) as process:
        stdout, stderr = _communicate(process, command, timeout)
    return subprocess.CompletedProcess(list(command), process.returncode, stdout, stderr)


@contextlib.contextmanager
def background_tool(command: Sequence[str], **kwargs) -> Iterator[subprocess.Popen]:
    """A tool started now and given its input later (`finish_tool`), in a process group of its own.

    Leaving the block early (an error, an interrupt) kills the group, so an unfinished tool never outlives the caller.
    """
    process = subprocess.Popen(
        list(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True, **kwargs,
    )
    with process:
        try:
            yield process
        finally:
            if process.poll() is None:
                kill_group(process)


def finish_tool(process: subprocess.Popen, input: str, *, timeout: float) -> subprocess.CompletedProcess:
    """Send a `background_tool` its input and wait for it, as `run_tool` waits."""
    stdout, stderr = _communicate(process, process.args, timeout, input)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
