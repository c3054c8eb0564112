"""Local-tier images built offline from Debian packages, cached by content hash.

Recipes live in local/images.yaml: a root filesystem per package set
(`debootstrap --variant=minbase`), the repository paths and locked Python
distributions each image adds, and its entrypoint. An image is tagged
`localhost/wfp-<name>:<hash of every input>`, so an unchanged recipe and
unchanged code are never rebuilt; root filesystems are cached as tarballs under
the cache directory (WFP_LOCAL_CACHE, default ~/.cache/workflow-platform/local-tier).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from wfdeploy.local.podman import LOCAL_DIR, Podman
from wfdeploy.paths import PROJECT_ROOT

RECIPES = LOCAL_DIR / "images.yaml"
CACHE_ENV = "WFP_LOCAL_CACHE"
#: Bump when the way images are assembled changes, so that every cached image is rebuilt.
BUILDER_VERSION = "1"
APP_DIR = "opt/workflow-platform"
SITE_DIR = f"{APP_DIR}/site-packages"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#: Parts of a Debian root filesystem no container needs.
ROOTFS_EXCLUDES = ("./usr/share/doc/*", "./usr/share/man/*", "./usr/share/info/*", "./usr/share/locale/*",
                   "./var/lib/apt/lists/*", "./var/cache/apt/*", "./var/cache/debconf/*-old")


class ImageBuildError(RuntimeError):
    """An image could not be built; the message names the image and the failing step."""


@dataclass(frozen=True)
class ImageRecipe:
    name: str
    rootfs: str
    packages: tuple[str, ...]
    copy: tuple[str, ...] = ()
    python_distributions: tuple[str, ...] = ()
    users: dict[str, int] = field(default_factory=dict)
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()  # rootfs paths left out of this image


@dataclass(frozen=True)
class Recipes:
    suite: str
    mirror: str
    images: dict[str, ImageRecipe]


def load_recipes(path: Path = RECIPES) -> Recipes:
    document = yaml.safe_load(path.read_text())
    rootfs = document["rootfs"]
    images = {}
    for name, spec in document["images"].items():
        if spec["rootfs"] not in rootfs:
            raise ImageBuildError(f"{path}: image {name!r} names unknown rootfs {spec['rootfs']!r}")
        images[name] = ImageRecipe(
            name=name,
            rootfs=spec["rootfs"],
            packages=tuple(sorted(rootfs[spec["rootfs"]])),
            copy=tuple(spec.get("copy", ())),
            python_distributions=tuple(spec.get("pythonDistributions", ())),
            users=dict(spec.get("users", {})),
            entrypoint=tuple(spec.get("entrypoint", ())),
            cmd=tuple(spec.get("cmd", ())),
            exclude=tuple(path.strip("/") for path in spec.get("exclude", ())),
        )
    return Recipes(suite=document["suite"], mirror=document["mirror"], images=images)


def cache_dir() -> Path:
    configured = os.environ.get(CACHE_ENV)
    return Path(configured) if configured else Path.home() / ".cache" / "workflow-platform" / "local-tier"


# -- content hashes -------------------------------------------------------------


def _repository_files(paths: tuple[str, ...]) -> list[Path]:
    files: list[Path] = []
    for relative in paths:
        path = PROJECT_ROOT / relative
        if not path.exists():
            raise ImageBuildError(f"repository path {relative!r} does not exist")
        candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        files += [p for p in candidates if "__pycache__" not in p.parts and p.suffix != ".pyc"]
    return files


def _distribution(name: str) -> importlib.metadata.Distribution:
    try:
        return importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        raise ImageBuildError(f"Python distribution {name!r} is not installed in {sys.prefix}") from None


def rootfs_key(recipes: Recipes, recipe: ImageRecipe) -> str:
    inputs = {"suite": recipes.suite, "mirror": recipes.mirror, "packages": recipe.packages,
              "excludes": ROOTFS_EXCLUDES, "builder": BUILDER_VERSION}
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def image_key(recipes: Recipes, recipe: ImageRecipe) -> str:
    """Hash of everything that ends up in the image: rootfs inputs, copied files, distributions, config."""
    digest = hashlib.sha256()
    digest.update(rootfs_key(recipes, recipe).encode())
    config = {"users": recipe.users, "entrypoint": recipe.entrypoint, "cmd": recipe.cmd, "exclude": recipe.exclude,
              "distributions": {name: _distribution(name).version for name in recipe.python_distributions}}
    digest.update(json.dumps(config, sort_keys=True).encode())
    for path in _repository_files(recipe.copy):
        digest.update(str(path.relative_to(PROJECT_ROOT)).encode() + b"\0")
        digest.update(f"{path.stat().st_mode & 0o111:o}".encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def image_tag(recipes: Recipes, recipe: ImageRecipe) -> str:
    return f"localhost/wfp-{recipe.name}:{image_key(recipes, recipe)[:16]}"


# -- building -------------------------------------------------------------------


def _run(command: list[str], step: str, timeout: float = 600) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
        raise ImageBuildError(f"{step}: `{' '.join(command)}` exited {result.returncode}:\n{tail}")


def ensure_rootfs(recipes: Recipes, recipe: ImageRecipe, log=print) -> Path:
    """The cached rootfs tarball for the recipe's package set; debootstrapped when missing."""
    key = rootfs_key(recipes, recipe)
    target = cache_dir() / "rootfs" / f"{recipe.rootfs}-{key[:16]}.tar"
    if target.exists():
        return target
    if os.geteuid() != 0:
        raise ImageBuildError("debootstrap needs root: run the image build as root (or with sudo)")
    if not shutil.which("debootstrap"):
        raise ImageBuildError("debootstrap not found: install the Debian package debootstrap (scripts/install)")
    target.parent.mkdir(parents=True, exist_ok=True)
    # one download cache per rootfs: debootstraps run side by side and a shared cache races
    debs = cache_dir() / "debs" / recipe.rootfs
    debs.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"wfp-rootfs-{recipe.rootfs}-", dir=target.parent) as scratch:
        root = Path(scratch) / "root"
        _run(["debootstrap", "--variant=minbase", f"--include={','.join(recipe.packages)}",
              f"--cache-dir={debs}", recipes.suite, str(root), recipes.mirror], f"debootstrap rootfs {recipe.rootfs!r}")
        partial = Path(scratch) / "rootfs.tar"
        excludes = [f"--exclude={pattern}" for pattern in ROOTFS_EXCLUDES]
        _run(["tar", "--numeric-owner", "--xattrs", "-C", str(root), *excludes, "-cf", str(partial), "."],
             f"archive rootfs {recipe.rootfs!r}")
        partial.rename(target)
    log(f"rootfs {recipe.rootfs}: debootstrap {', '.join(recipe.packages)} ({time.monotonic() - started:.0f}s)")
    return target


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 0
    archive.addfile(info, io.BytesIO(data))


def _add_dir(archive: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
    archive.addfile(info)


def _extended_accounts(rootfs_tar: Path, users: dict[str, int]) -> dict[str, bytes]:
    """/etc/passwd and /etc/group of the rootfs with the recipe's users appended."""
    with tarfile.open(rootfs_tar) as archive:
        passwd = archive.extractfile("./etc/passwd").read().decode()
        group = archive.extractfile("./etc/group").read().decode()
    for name, uid in sorted(users.items()):
        passwd += f"{name}:x:{uid}:{uid}::/nonexistent:/usr/sbin/nologin\n"
        group += f"{name}:x:{uid}:\n"
    return {"etc/passwd": passwd.encode(), "etc/group": group.encode()}


def _write_overlay(archive: tarfile.TarFile, recipe: ImageRecipe, rootfs_tar: Path) -> None:
    for path, data in _extended_accounts(rootfs_tar, recipe.users).items():
        _add_bytes(archive, path, data)
    _add_dir(archive, APP_DIR)
    written_dirs = {APP_DIR}
    for path in _repository_files(recipe.copy):
        relative = path.relative_to(PROJECT_ROOT)
        for parent in reversed(relative.parents[:-1]):
            directory = f"{APP_DIR}/{parent.as_posix()}"
            if directory not in written_dirs:
                _add_dir(archive, directory)
                written_dirs.add(directory)
        _add_bytes(archive, f"{APP_DIR}/{relative.as_posix()}", path.read_bytes(), 0o755 if path.stat().st_mode & 0o111 else 0o644)
    if recipe.python_distributions:
        _add_dir(archive, SITE_DIR)
    for name in recipe.python_distributions:
        distribution = _distribution(name)
        for file in distribution.files or ():
            source = Path(distribution.locate_file(file))
            if file.parts[0] == ".." or "__pycache__" in file.parts or not source.is_file():
                continue  # console scripts live outside site-packages; bytecode is rebuilt in memory
            _add_bytes(archive, f"{SITE_DIR}/{file.as_posix()}", source.read_bytes())


def _write_image_tar(image_tar: Path, recipe: ImageRecipe, rootfs_tar: Path) -> None:
    """The rootfs with the overlay on top, each path once (podman import rejects duplicate paths)."""
    overlay_buffer = io.BytesIO()
    with tarfile.open(fileobj=overlay_buffer, mode="w") as overlay:
        _write_overlay(overlay, recipe, rootfs_tar)
    overlay_buffer.seek(0)
    with tarfile.open(fileobj=overlay_buffer) as overlay, tarfile.open(image_tar, "w") as out:
        replaced = {_normalized(member.name) for member in overlay.getmembers()}
        with tarfile.open(rootfs_tar) as rootfs:
            for member in rootfs:
                path = _normalized(member.name)
                if path in replaced or any(path == ex or path.startswith(ex + "/") for ex in recipe.exclude):
                    continue
                out.addfile(member, rootfs.extractfile(member) if member.isreg() else None)
        for member in overlay.getmembers():
            out.addfile(member, overlay.extractfile(member) if member.isreg() else None)


def _normalized(name: str) -> str:
    return name.removeprefix("./").rstrip("/")


def _changes(recipe: ImageRecipe) -> list[str]:
    changes = [
        f"ENV PATH={PATH}",
        f"ENV PYTHONPATH=/{APP_DIR}:/{SITE_DIR}",
        # the root filesystem is read-only in every pod: never try to write bytecode
        "ENV PYTHONDONTWRITEBYTECODE=1",
        "ENV PYTHONUNBUFFERED=1",
        f"WORKDIR /{APP_DIR}",
    ]
    if recipe.entrypoint:
        changes.append(f"ENTRYPOINT {json.dumps(list(recipe.entrypoint))}")
    if recipe.cmd:
        changes.append(f"CMD {json.dumps(list(recipe.cmd))}")
    return changes


@dataclass
class BuiltImage:
    name: str
    tag: str
    built: bool  # False when the tag already existed (cache hit)
    seconds: float


def build_image(recipes: Recipes, recipe: ImageRecipe, podman: Podman | None = None, log=print) -> BuiltImage:
    podman = podman or Podman()
    started = time.monotonic()
    tag = image_tag(recipes, recipe)
    if podman.image_exists(tag):
        return BuiltImage(recipe.name, tag, built=False, seconds=time.monotonic() - started)
    rootfs_tar = ensure_rootfs(recipes, recipe, log=log)
    with tempfile.TemporaryDirectory(prefix=f"wfp-image-{recipe.name}-") as scratch:
        image_tar = Path(scratch) / "image.tar"
        _write_image_tar(image_tar, recipe, rootfs_tar)
        args = ["import"]
        for change in _changes(recipe):
            args += ["--change", change]
        podman.run(*args, "--message", f"wfp {recipe.name} from Debian {recipes.suite}", str(image_tar), tag, timeout=600)
    seconds = time.monotonic() - started
    log(f"image {tag}: built ({seconds:.0f}s)")
    return BuiltImage(recipe.name, tag, built=True, seconds=seconds)


def build_images(names: list[str] | None = None, podman: Podman | None = None, log=print) -> dict[str, BuiltImage]:
    """Build (or find cached) every named image, or all of them; returns name -> BuiltImage."""
    recipes = load_recipes()
    wanted = names or sorted(recipes.images)
    unknown = sorted(set(wanted) - set(recipes.images))
    if unknown:
        raise ImageBuildError(f"no recipe for image(s) {unknown} in {RECIPES}; known: {sorted(recipes.images)}")
    podman = podman or Podman()
    # debootstrap is mostly download and dpkg waits: the missing root filesystems are made side by side
    missing = {}
    for name in wanted:
        recipe = recipes.images[name]
        if not podman.image_exists(image_tag(recipes, recipe)):
            missing.setdefault(recipe.rootfs, recipe)
    with ThreadPoolExecutor(max_workers=3) as pool:
        for future in [pool.submit(ensure_rootfs, recipes, recipe, log) for recipe in missing.values()]:
            future.result()
    return {name: build_image(recipes, recipes.images[name], podman, log=log) for name in wanted}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="build the local tier's images from Debian packages")
    parser.add_argument("images", nargs="*", help="image names from local/images.yaml (default: all)")
    args = parser.parse_args(argv)
    try:
        for image in build_images(args.images).values():
            print(f"{image.tag} {'built' if image.built else 'cached'} ({image.seconds:.1f}s)")
    except ImageBuildError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
