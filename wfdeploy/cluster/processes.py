"""Starting and stopping the control plane's processes, and the state file that remembers them.

Each process gets its own session (process group), so the CLI may exit while
the cluster keeps running and `cluster down` — from any process — signals the
whole group. A process is recorded with its start time, so a recycled pid is
never signalled.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

#: Seconds a process gets between SIGTERM and SIGKILL.
STOP_GRACE = 15


@dataclass(frozen=True)
class Started:
    """One process `cluster up` started."""

    name: str
    pid: int
    create_time: float
    log: str

    def alive(self) -> bool:
        try:
            process = psutil.Process(self.pid)
            return abs(process.create_time() - self.create_time) < 0.01 and process.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(name: str, command: list[str], log_dir: Path) -> Started:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_file = log_dir / f"{name}.log"
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Started(name, process.pid, psutil.Process(process.pid).create_time(), str(log_file))


def stop(started: Started, grace: float = STOP_GRACE) -> None:
    """SIGTERM the process's group, then SIGKILL what is left after `grace` seconds."""
    if not started.alive():
        _reap(started.pid)
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(started.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            _reap(started.pid)
            if not started.alive() and not _group_alive(started.pid):
                return
            time.sleep(0.1)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return any(p.info["pid"] != pgid and _pgid(p.info["pid"]) == pgid for p in psutil.process_iter(["pid"]))


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def _reap(pid: int) -> None:
    """Collect our own child's exit status, so it does not linger as a zombie."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def tail(log: str, lines: int = 15) -> str:
    """The end of a process's log, for error messages."""
    try:
        text = Path(log).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join("    " + line for line in text[-lines:])


@dataclass
class State:
    """What `cluster up` started and wrote; saved after every process so a crash loses nothing."""

    directory: str
    server: str = ""
    kubeconfig: str = ""
    contexts: tuple[str, ...] = ()
    processes: tuple[Started, ...] = ()
    ready: bool = False

    @staticmethod
    def path_in(directory: Path) -> Path:
        return directory / "state.json"

    def save(self) -> None:
        path = self.path_in(Path(self.directory))
        path.parent.mkdir(parents=True, exist_ok=True)
        document = asdict(self)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(document, indent=2) + "\n")
        temporary.replace(path)

    @classmethod
    def load(cls, directory: Path) -> "State | None":
        path = cls.path_in(directory)
        if not path.is_file():
            return None
        document = json.loads(path.read_text())
        document["processes"] = tuple(Started(**entry) for entry in document.get("processes", []))
        document["contexts"] = tuple(document.get("contexts", []))
        return cls(**document)
