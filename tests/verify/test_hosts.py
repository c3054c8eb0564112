"""Host-level verification, written once against testinfra's `host`: the same on a pod and here."""

from __future__ import annotations

import shlex

import pytest

from wfdeploy.verification.procfs import (
    CREDENTIAL_VALUE_PATTERNS,
    credential_variables,
    is_within,
    listening_sockets,
    parse_environ,
    parse_mountinfo,
    parse_status_ids,
    root_mount,
    socket_inodes,
    unexpected_writable_mounts,
)


def test_process_runs_as_expected_non_root_user(host, target, processes):
    for pid in processes.pids:
        uids, gids = parse_status_ids(host.check_output(f"cat /proc/{pid}/status"))
        assert 0 not in uids, f"PID {pid} ({processes.commands[pid][:80]}) runs with uid 0: {uids}"
        if target.uid is not None:
            assert set(uids) == {target.uid}, f"PID {pid}: uids {uids}, expected {target.uid}"


def test_root_filesystem_is_read_only(host, target, processes):
    if not target.read_only_root:
        pytest.skip(f"{target.name}: the inventory does not require a read-only root file system")
    root = root_mount(parse_mountinfo(host.check_output(f"cat /proc/{processes.main}/mountinfo")))
    assert "ro" in root.options, f"/ is mounted {sorted(root.options)} ({root.fstype} {root.source})"


def test_only_expected_paths_are_writable(host, target, processes):
    if not target.read_only_root:
        pytest.skip(f"{target.name}: the inventory does not require a read-only root file system")
    mounts = parse_mountinfo(host.check_output(f"cat /proc/{processes.main}/mountinfo"))
    unexpected = unexpected_writable_mounts(mounts, target.writable_paths)
    assert not unexpected, f"writable mounts outside {list(target.writable_paths)}: {unexpected}"


def test_only_expected_ports_listen(host, target, processes):
    listening: dict[int, tuple[str, int]] = {}
    for pid in processes.pids:
        owned = socket_inodes(host.run(f"ls -l /proc/{pid}/fd/").stdout)
        tables = listening_sockets(host.run(f"cat /proc/{pid}/net/tcp /proc/{pid}/net/tcp6").stdout)
        listening.update({inode: address for inode, address in tables.items() if inode in owned})
    ports = sorted({port for _, port in listening.values()})
    assert ports == sorted(set(target.ports)), (
        f"listening on {sorted(set(listening.values()))}, expected exactly the ports {sorted(target.ports)}"
    )


def test_config_files_have_expected_owner_and_mode(host, target, processes):
    if not target.config_files:
        pytest.skip(f"{target.name}: configuration comes from the environment; no files listed")
    problems = []
    for expected in target.config_files:
        result = host.run(f"stat -L -c '%u %a' {shlex.quote(expected.path)}")
        if result.rc != 0:
            problems.append(f"{expected.path}: missing ({result.stderr.strip()})")
            continue
        uid, mode = result.stdout.split()
        if int(uid) != expected.owner_uid or int(mode, 8) != expected.mode:
            problems.append(
                f"{expected.path}: owner {uid} mode {mode}, expected owner {expected.owner_uid} mode {expected.mode:o}"
            )
    assert not problems, "; ".join(problems)


def test_no_credentials_in_environment(host, target, processes):
    flagged = {}
    for pid in processes.pids:
        env = parse_environ(host.check_output(f"cat /proc/{pid}/environ"))
        names = credential_variables(env, allowed=target.secret_env)
        if names:
            flagged[pid] = names
    # names only: the values are the very thing that must not leak into a report
    assert not flagged, f"credential-like variables not filled from a Secret reference: {flagged}"


def test_no_credentials_on_disk_outside_secret_mounts(host, target, processes):
    root = f"/proc/{processes.main}/root"
    directories = [path for path in target.scan_paths if host.run(f"test -d {shlex.quote(root + path)}").rc == 0]
    if not directories:
        pytest.skip(f"{target.name}: no directories to scan")
    patterns = " ".join(f"-e {shlex.quote(pattern)}" for pattern in CREDENTIAL_VALUE_PATTERNS)
    targets = " ".join(shlex.quote(root + path) for path in directories)
    result = host.run(f"grep -rlsE {patterns} -- {targets} 2>/dev/null | head -n 200")
    found = [line[len(root):] for line in result.stdout.splitlines() if line.startswith(root)]
    outside = [path for path in found if not is_within(path, target.secret_paths)]
    assert not outside, f"files holding credentials outside the mounted Secrets {list(target.secret_paths)}: {outside}"
