"""A gate tool imported once for all of this process's runs: each `run` is a fork of its launcher (tool_launcher.py).

A pool worker of `render --all` renders several stages; starting the tool's launcher when the
worker starts lets the tool's import overlap the first synthesis and happen once per worker, not
once per stage. `run` answers as `interrupts.run_tool` would: a CompletedProcess, TimeoutExpired
after `timeout`, and on an interrupt or a timeout the launcher's whole group is killed.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Mapping, Sequence

from wfdeploy.interrupts import WAIT_SLICE_SECONDS, kill_group

#: the launcher both checkov and nca run under
LAUNCHER = Path(__file__).with_name("tool_launcher.py")
#: how long a launcher told to stop may take to end before it is killed
STOP_SECONDS = 5


class LauncherGone(RuntimeError):
    """The launcher ended or answered nonsense: the caller runs the tool the ordinary way instead."""


class PreimportedTool:
    def __init__(self, python: Path, tool: str) -> None:
        self.tool = tool
        # -P: the launcher's folder must not come first on the tool's import path; a group of its own, killed whole
        self.process = subprocess.Popen(
            [str(python), "-P", str(LAUNCHER), tool], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, bufsize=0, start_new_session=True,
        )

    def run(self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout: float) -> subprocess.CompletedProcess:
        command = [self.tool, *argv]
        with tempfile.TemporaryDirectory(prefix=f"wfdeploy-{self.tool}-") as folder:
            out, err = Path(folder) / "stdout", Path(folder) / "stderr"
            request = {"argv": list(argv), "cwd": str(cwd), "env": dict(env), "stdout": str(out), "stderr": str(err),
                       "wait": True}
            try:
                self.process.stdin.write((json.dumps(request) + "\n").encode())
                answer = self._answer(command, timeout)
            except (BrokenPipeError, OSError) as error:
                raise LauncherGone(f"the {self.tool} launcher ended: {error}") from None
            except BaseException:  # an interrupt or a timeout: the run in progress must not outlive the caller
                self.kill()
                raise
            return subprocess.CompletedProcess(
                command, answer, out.read_text() if out.exists() else "", err.read_text() if err.exists() else ""
            )

    def _answer(self, command: list[str], timeout: float) -> int:
        """The launcher's one-line answer, waited for in slices (a signal is handled between them)."""
        deadline = time.monotonic() + timeout
        line = b""
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise subprocess.TimeoutExpired(command, timeout)
            readable, _, _ = select.select([self.process.stdout], [], [], min(WAIT_SLICE_SECONDS, remaining))
            if readable:
                chunk = os.read(self.process.stdout.fileno(), 4096)
                if not chunk:
                    raise LauncherGone(f"the {self.tool} launcher ended (exit {self.process.wait()})")
                line += chunk
        try:
            return int(json.loads(line)["code"])
        except (ValueError, KeyError, TypeError) as error:
            raise LauncherGone(f"the {self.tool} launcher answered {line[:200]!r}: {error}") from None

    def stop(self) -> None:
        """End the launcher: at the end of its input it exits; one that does not within STOP_SECONDS is killed."""
        if self.process.poll() is None:
            try:
                self.process.stdin.close()
                self.process.wait(STOP_SECONDS)
            except (OSError, subprocess.TimeoutExpired):
                self.kill()
        for stream in (self.process.stdin, self.process.stdout):
            stream.close()

    def kill(self) -> None:
        kill_group(self.process)
