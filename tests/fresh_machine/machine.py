"""A new user's machine: stock Debian 12 with only python3, python3-venv, git and ca-certificates,
the project freshly cloned into it with ../shared beside it, run under podman.

The root filesystem is debootstrapped by the local tier's builder (wfdeploy/local/images.py) and
cached by the hash of its inputs. Nothing of the host's Python setup reaches the machine: no pip
configuration, no wheel directory, no environment; only the host's locally added certificate
authorities (a TLS-inspecting proxy's) and download caches that the machine itself filled from
Debian's mirror and the public package index (under the cache directory, empty on a cold run).
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from tests.docs.markdown import section_text, shell_blocks
from tests.stagehelpers import PROJECT_ROOT
from wfdeploy.local.images import ImageRecipe, Recipes, cache_dir, ensure_rootfs, load_recipes
from wfdeploy.local.podman import Podman, podman_binary

README = PROJECT_ROOT / "README.md"
#: What a new user has installed before reading the README (the issue's stock machine).
PACKAGES = ("ca-certificates", "git", "python3", "python3-venv")
#: Where the clone sits in the machine; ../shared beside it, as in a developer's checkout.
WORK_DIR = Path("/work")
CLONE = WORK_DIR / "workflow-platform"
#: Debian 12's stock apt sources (as its installer and official images write them).
DEBIAN_SOURCES = """\
Types: deb
URIs: {mirror}
Suites: {suite} {suite}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: {mirror}-security
Suites: {suite}-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""
#: Where Debian keeps certificate authorities its admin added (update-ca-certificates reads them).
LOCAL_CERTIFICATE_AUTHORITIES = Path("/usr/local/share/ca-certificates")
#: Download caches the machine fills itself (container path -> cache subfolder); warm runs reuse them.
DOWNLOAD_CACHES = {"/var/cache/apt/archives": "apt-archives", "/root/.cache/pip": "pip", "/root/.npm": "npm"}


def readme_commands() -> list[str]:
    """The Quick start's commands, as the README prints them (its first two shell blocks)."""
    quick_start = section_text(README, "Quick start")
    blocks = [block.text.strip() for block in shell_blocks(README)[:2]]
    assert len(blocks) == 2 and all(f"```sh\n{text}\n```" in quick_start for text in blocks), (
        f"{README.name}: the Quick start section should open with two shell blocks, found {blocks}")
    return blocks


def fresh_machine_cache() -> Path:
    """Download caches of the fresh machine, beside the local tier's root filesystems."""
    return cache_dir() / "fresh-machine"


def debian_recipes(suite: str | None = None) -> Recipes:
    """The local tier's Debian suite and mirror (local/images.yaml), or another suite from the same mirror."""
    recipes = load_recipes()
    return dataclasses.replace(recipes, suite=suite) if suite else recipes


def debian_rootfs(recipes: Recipes, log=print) -> Path:
    """The cached tarball of a minbase Debian root filesystem with PACKAGES (debootstrapped when missing)."""
    recipe = ImageRecipe(name="fresh-machine", rootfs=f"fresh-machine-{recipes.suite}", packages=PACKAGES)
    return ensure_rootfs(recipes, recipe, log=log)


@dataclass
class Run:
    command: str
    returncode: int
    output: str
    seconds: float
    warm: bool  # the download caches held Debian packages before the run


class FreshMachine:
    """An unpacked root filesystem with the project cloned into it; `run` boots it under podman."""

    def __init__(self, root: Path):
        self.root = root

    @classmethod
    def create(cls, scratch: Path, suite: str | None = None, log=print) -> FreshMachine:
        """Debian `suite` (default: the local tier's, bookworm) unpacked under `scratch`, the project cloned in."""
        recipes = debian_recipes(suite)
        rootfs = debian_rootfs(recipes, log=log)
        root = scratch / "root"
        root.mkdir()
        subprocess.run(["tar", "--numeric-owner", "--xattrs", "-xf", str(rootfs), "-C", str(root)], check=True)
        sources = root / "etc/apt/sources.list.d/debian.sources"
        sources.write_text(DEBIAN_SOURCES.format(mirror=recipes.mirror, suite=recipes.suite))
        (root / "etc/apt/sources.list").unlink(missing_ok=True)  # debootstrap's one-line copy of the first
        machine = cls(root)
        machine._trust_local_certificate_authorities(log)
        machine._clone_project()
        return machine

    def _trust_local_certificate_authorities(self, log) -> None:
        """The host's locally added CAs (Debian's /usr/local/share/ca-certificates), as its admin would add them.

        A network with a TLS-inspecting proxy needs them for the index; on a plain network there are none.
        """
        local = LOCAL_CERTIFICATE_AUTHORITIES
        added = sorted(local.rglob("*.crt")) if local.is_dir() else []
        if not added:
            return
        shutil.copytree(local, self.root / local.relative_to("/"), dirs_exist_ok=True)
        result = subprocess.run([podman_binary(), "run", "--rm", "--network=none", "--rootfs", str(self.root),
                                 "update-ca-certificates"], env=Podman().env, capture_output=True, text=True,
                                timeout=300, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"update-ca-certificates in the fresh machine exited {result.returncode}: {result.stderr}")
        log(f"fresh machine trusts the host's local CAs: {', '.join(path.name for path in added)}")

    def _clone_project(self) -> None:
        """`git clone` of the tested checkout's HEAD (what is committed), ../shared copied beside it."""
        head = _git("rev-parse", "HEAD")
        clone = self.root / CLONE.relative_to("/")
        clone.parent.mkdir(parents=True)
        subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(PROJECT_ROOT), str(clone)], check=True)
        subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", "--detach", head], check=True)
        shutil.copytree(PROJECT_ROOT.parent / "shared", clone.parent / "shared", symlinks=True)

    def run(self, command: str, log_file: Path, timeout: float, network: str = "host",
            privileged: bool = False) -> Run:
        """Run `command` with bash in the clone, as root, as a user's shell would; output goes to log_file."""
        caches = fresh_machine_cache()
        # pip's HTTP cache stays empty where a proxy drops Cache-Control headers: the apt archives tell
        warm = any((caches / "apt-archives").glob("*.deb"))
        volumes = []
        for inside, name in DOWNLOAD_CACHES.items():
            (caches / name).mkdir(parents=True, exist_ok=True)
            volumes += ["--volume", f"{caches / name}:{inside}"]
        name = f"wfp-fresh-machine-{uuid.uuid4().hex[:12]}"
        # --rootfs makes the first argument a root filesystem instead of an image
        podman = [podman_binary(), "run", "--rm", "--name", name, f"--network={network}",
                  "--workdir", str(CLONE), "--env", "HOME=/root", "--env", "LANG=C.UTF-8",
                  *(["--privileged"] if privileged else []), *volumes,
                  "--rootfs", str(self.root), "/bin/bash", "-c", command]
        started = time.monotonic()
        try:
            with log_file.open("w") as out:
                result = subprocess.run(podman, env=Podman().env, stdout=out, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, timeout=timeout, check=False)
        finally:
            # a timeout kills the podman client only: the container would run on
            Podman().run("rm", "--force", "--ignore", "--time", "5", name, check=False, timeout=120)
        return Run(command, result.returncode, log_file.read_text(errors="replace"), time.monotonic() - started, warm)

    def remove(self) -> None:
        shutil.rmtree(self.root)


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(PROJECT_ROOT), *args], capture_output=True, text=True,
                          check=True).stdout.strip()

