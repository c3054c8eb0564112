"""Running podman with the repository's own configuration (local/containers.conf, local/registries.conf).

Every podman call of the local tier goes through here, so that no machine-wide
podman setting is relied on: CONTAINERS_CONF and CONTAINERS_REGISTRIES_CONF
point into the repository (or at a per-run copy that adds the tier's hosts file).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from wfdeploy.paths import PROJECT_ROOT

LOCAL_DIR = PROJECT_ROOT / "local"
CONTAINERS_CONF = LOCAL_DIR / "containers.conf"
REGISTRIES_CONF = LOCAL_DIR / "registries.conf"


class PodmanError(RuntimeError):
    """A podman command failed; the message holds the command and podman's error output."""


def podman_binary() -> str:
    found = shutil.which("podman")
    if not found:
        raise PodmanError("podman not found: install the Debian packages podman, runc, catatonit (scripts/install)")
    return found


def containers_conf_with_hosts(hosts_file: Path, target: Path) -> Path:
    """A copy of local/containers.conf whose containers get `hosts_file` as their base /etc/hosts.

    podman 4.3 ignores a pod's hostAliases, so Service names reach loopback through base_hosts_file.
    """
    lines = CONTAINERS_CONF.read_text().splitlines()
    index = lines.index("[containers]") + 1
    lines.insert(index, f'base_hosts_file = "{hosts_file}"')
    target.write_text("\n".join(lines) + "\n")
    return target


class Podman:
    """podman with the repository's configuration; `conf` overrides local/containers.conf."""

    def __init__(self, conf: Path | None = None):
        self.conf = conf or CONTAINERS_CONF

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "CONTAINERS_CONF": str(self.conf),
            "CONTAINERS_REGISTRIES_CONF": str(REGISTRIES_CONF),
        }

    def run(self, *args: str, check: bool = True, timeout: float | None = 300, input: str | None = None) -> subprocess.CompletedProcess:
        command = [podman_binary(), *args]
        result = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=timeout, input=input)
        if check and result.returncode != 0:
            raise PodmanError(f"`podman {' '.join(args)}` exited {result.returncode}: {result.stderr.strip()}")
        return result

    def image_exists(self, reference: str) -> bool:
        return self.run("image", "exists", reference, check=False).returncode == 0

    def secret_exists(self, name: str) -> bool:
        names = self.run("secret", "ls", "--format", "{{.Name}}").stdout.split()
        return name in names
