"""Parsing what /proc says about a process, the same inside a pod and on this machine.

The host-level checks read /proc through testinfra (`kubectl exec` or a local
shell) so they need nothing in the image beyond a POSIX shell and `cat`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Lists every process as `PID<TAB>cmdline with spaces`; the first line is the listing shell's own PID.
LIST_PROCESSES = (
    'echo "$$"; for d in /proc/[0-9]*; do [ -r "$d/cmdline" ] || continue; '
    'printf "%s\\t" "${d#/proc/}"; tr "\\000" " " < "$d/cmdline" 2>/dev/null; echo; done'
)

#: File systems that are the kernel's, not the image's or a volume's.
PSEUDO_FILESYSTEMS = frozenset(
    {"proc", "sysfs", "cgroup", "cgroup2", "devtmpfs", "devpts", "mqueue", "securityfs", "debugfs", "tracefs",
     "bpf", "pstore", "fusectl", "configfs", "hugetlbfs", "nsfs", "binfmt_misc", "autofs"}
)
#: Kernel interfaces every container has writable; never where an application keeps state.
PSEUDO_PREFIXES = ("/proc", "/sys", "/dev")


@dataclass(frozen=True)
class Mount:
    mount_point: str
    options: frozenset[str]
    fstype: str
    source: str

    @property
    def writable(self) -> bool:
        return "rw" in self.options

    @property
    def is_pseudo(self) -> bool:
        return self.fstype in PSEUDO_FILESYSTEMS or any(
            self.mount_point == prefix or self.mount_point.startswith(prefix + "/") for prefix in PSEUDO_PREFIXES
        )


def _unescape(path: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda match: chr(int(match[1], 8)), path)


def parse_mountinfo(text: str) -> list[Mount]:
    """Mounts from /proc/PID/mountinfo (proc(5)); per-mount options decide read-only."""
    mounts = []
    for line in text.splitlines():
        if " - " not in line:
            continue
        left, right = line.split(" - ", 1)
        fields, tail = left.split(), right.split()
        if len(fields) < 6 or len(tail) < 2:
            continue
        mounts.append(Mount(_unescape(fields[4]), frozenset(fields[5].split(",")), tail[0], tail[1]))
    return mounts


def root_mount(mounts: list[Mount]) -> Mount:
    """The mount at / that the process sees (the last one mounted there wins)."""
    roots = [mount for mount in mounts if mount.mount_point == "/"]
    if not roots:
        raise ValueError("no mount at / in mountinfo")
    return roots[-1]


def is_within(path: str, allowed: tuple[str, ...] | list[str]) -> bool:
    path = path.rstrip("/") or "/"
    return any(path == base.rstrip("/") or path.startswith(base.rstrip("/") + "/") for base in allowed)


def unexpected_writable_mounts(mounts: list[Mount], writable_paths: tuple[str, ...]) -> list[str]:
    """Writable, non-kernel mounts that are not inside one of the expected writable paths."""
    return sorted(
        {mount.mount_point for mount in mounts if mount.writable and not mount.is_pseudo
         and not is_within(mount.mount_point, writable_paths)}
    )


def parse_process_list(text: str) -> tuple[int, dict[int, str]]:
    """(listing shell's PID, {pid: command line}) from the output of LIST_PROCESSES."""
    lines = text.splitlines()
    own_pid = int(lines[0].strip()) if lines and lines[0].strip().isdigit() else -1
    processes = {}
    for line in lines[1:]:
        pid, _, command = line.partition("\t")
        if pid.isdigit():
            processes[int(pid)] = command.strip()
    return own_pid, processes


def parse_status_ids(status: str) -> tuple[list[int], list[int]]:
    """(real, effective, saved, filesystem) user and group IDs from /proc/PID/status."""
    values = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return [int(x) for x in values["Uid"].split()], [int(x) for x in values["Gid"].split()]


def socket_inodes(fd_listing: str) -> set[int]:
    """Socket inodes from `ls -l /proc/PID/fd` (links read `socket:[INODE]`)."""
    return {int(inode) for inode in re.findall(r"socket:\[(\d+)\]", fd_listing)}


def _decode_address(hex_address: str) -> str:
    if len(hex_address) == 8:
        return ".".join(str(int(hex_address[i : i + 2], 16)) for i in (6, 4, 2, 0))
    words = [hex_address[i : i + 8] for i in range(0, 32, 8)]
    # each 32-bit word is little-endian; the result is the usual colon form
    raw = "".join("".join(reversed([word[j : j + 2] for j in range(0, 8, 2)])) for word in words)
    return ":".join(raw[i : i + 4] for i in range(0, 32, 4))


def listening_sockets(tcp_tables: str) -> dict[int, tuple[str, int]]:
    """{inode: (address, port)} of LISTEN sockets in /proc/net/tcp and tcp6 text."""
    sockets = {}
    for line in tcp_tables.splitlines():
        fields = line.split()
        if len(fields) < 10 or fields[0] == "sl" or fields[3] != "0A":
            continue
        address, port = fields[1].rsplit(":", 1)
        sockets[int(fields[9])] = (_decode_address(address), int(port, 16))
    return sockets


def parse_environ(raw: str) -> dict[str, str]:
    """Variables from /proc/PID/environ (NUL-separated)."""
    return dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)


#: Variable names that say "I hold a credential".
CREDENTIAL_NAME_RE = re.compile(
    r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIALS?|ROUTING_KEY)", re.IGNORECASE
)
#: Values that are credentials whatever the variable or file is called (ERE, for grep -E as well).
CREDENTIAL_VALUE_PATTERNS = (
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
    r"AKIA[0-9A-Z]{16}",
    r"aws_secret_access_key[[:space:]]*=",
    r"(postgres|postgresql|redis|amqp|mongodb)://[^:/@[:space:]]+:[^@/[:space:]]+@",
)
#: The same patterns for Python: the POSIX class [:space:] becomes \s (inside or outside brackets).
_VALUE_RES = [
    re.compile(pattern.replace("[[:space:]]", r"\s").replace("[:space:]", r"\s"), re.IGNORECASE)
    for pattern in CREDENTIAL_VALUE_PATTERNS
]


def credential_variables(env: dict[str, str], allowed: tuple[str, ...] | list[str] = ()) -> list[str]:
    """Names of variables that look like credentials and are not allowed (values never returned)."""
    flagged = []
    for name, value in env.items():
        if name in allowed:
            continue
        if (CREDENTIAL_NAME_RE.search(name) and value) or any(regex.search(value) for regex in _VALUE_RES):
            flagged.append(name)
    return sorted(flagged)
