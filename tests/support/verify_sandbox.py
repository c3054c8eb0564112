"""Run a local process the way the cluster runs a container: non-root, read-only root, few writable paths.

A private mount namespace (`unshare --mount`) gets every non-kernel mount
remounted read-only, then rw bind mounts of the given directories and tmpfs
scratch mounts, and `setpriv` drops to the given uid/gid with no new
privileges. The process keeps the host's network, so it listens on
127.0.0.1 like any other test server. Needs root (CAP_SYS_ADMIN) to set up.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import time
from pathlib import Path
from typing import Sequence

_PSEUDO = ("/proc", "/sys", "/dev")

_SETUP = r"""
set -e
for mount_point in $(awk '{print $5}' /proc/self/mountinfo | sort -u); do
  case "$mount_point" in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*) continue ;; esac
  mount -o remount,bind,ro "$mount_point" 2>/dev/null || true
done
"""


#: Where `app_dir` appears inside the sandbox, read-only, and the program's working directory.
APP_MOUNT = "/mnt"


def sandboxed(
    argv: Sequence[str], *, uid: int, gid: int, writable: Sequence[Path] = (), tmpfs: Sequence[str] = (),
    pod: bool = False, app_dir: Path | None = None,
) -> list[str]:
    """The command line that runs `argv` sandboxed; `writable` directories stay writable (bind mounts).

    `pod` also gives it its own PID namespace (it is PID 1 there, with its own /proc) and network
    namespace (only loopback), like a container in a pod. `app_dir` is bind-mounted at APP_MOUNT and
    becomes the working directory: the checkout may sit where the sandboxed user cannot reach it
    (under /root) or where a tmpfs hides it (under /tmp).
    """
    steps = [_SETUP] + (["ip link set lo up"] if pod else [])
    if app_dir is not None:
        quoted = shlex.quote(str(app_dir))
        steps.append(f"mount --bind {quoted} {APP_MOUNT}\nmount -o remount,bind,ro {APP_MOUNT}")
    for directory in writable:
        quoted = shlex.quote(str(directory))
        steps.append(f"mount --bind {quoted} {quoted}\nmount -o remount,bind,rw {quoted}")
    for path in tmpfs:
        steps.append(f"mount -t tmpfs -o size=64m,mode=1777,nosuid,nodev tmpfs {shlex.quote(path)}")
    if app_dir is not None:
        steps.append(f"cd {APP_MOUNT}")
    steps.append(f'exec setpriv --reuid={uid} --regid={gid} --clear-groups --no-new-privs -- "$@"')
    # --kill-child: the program never outlives unshare (which ignores SIGTERM while it waits)
    namespaces = ["--mount", "--pid", "--kill-child", "--mount-proc", "--net"] if pod else ["--mount"]
    return ["unshare", *namespaces, "--propagation", "private", "--", "/bin/sh", "-c", "\n".join(steps), "sandbox", *argv]


def start_sandboxed(
    argv: Sequence[str], *, uid: int, gid: int, writable: Sequence[Path] = (), tmpfs: Sequence[str] = (),
    env: dict[str, str] | None = None, cwd: Path | None = None, log: Path | None = None, pod: bool = False,
    app_dir: Path | None = None,
) -> subprocess.Popen:
    """Start `argv` sandboxed; the returned process's PID is the program's own (every step execs).

    With `pod`, it is `unshare`'s, whose only child is the program (see `pod_process_pid`).
    """
    if os.geteuid() != 0:
        raise RuntimeError("the verification sandbox needs root to create a mount namespace")
    for directory in writable:
        os.chown(directory, uid, gid)
    output = open(log, "ab") if log else subprocess.DEVNULL
    try:
        process = subprocess.Popen(
            sandboxed(argv, uid=uid, gid=gid, writable=writable, tmpfs=tmpfs, pod=pod, app_dir=app_dir),
            env=env if env is not None else {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"},
            cwd=cwd, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        process.pod = pod
        return process
    finally:
        if log:
            output.close()


def pod_process_pid(process: subprocess.Popen, timeout: float = 10.0) -> int:
    """The host PID of a `pod=True` sandbox's program (PID 1 inside its namespace)."""
    deadline = time.monotonic() + timeout
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    while time.monotonic() < deadline:
        pids = children.read_text().split() if children.exists() else []
        if pids:
            return int(pids[0])
        time.sleep(0.05)
    raise RuntimeError(f"sandbox {process.pid} started no program within {timeout}s")


def stop(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM (to the program itself in a pod sandbox), then SIGKILL if it does not exit in time."""
    if process.poll() is None:
        if getattr(process, "pod", False):
            with contextlib.suppress(OSError, RuntimeError):
                os.kill(pod_process_pid(process, timeout=1), signal.SIGTERM)
        else:
            process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)
