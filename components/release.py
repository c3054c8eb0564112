"""A release: what a stage runs, identical wherever it is promoted.

A release is three facts:

* `imageDigest` — the workflow service image's digest (`sha256:…`); a
  tag-only reference (allowed on `local`) gives `unpinned:<tag>`;
* `charts` — every pinned chart of charts/charts.yaml, `release -> chart@version`;
* `configHash` — sha256 over the *stage-independent configuration*.

Stage-independent configuration is everything that deploys the platform and is
the same in every stage, i.e. the repository's deployable files that are not
stack files: `Pulumi.yaml`, `__main__.py`, `components/**` (this module
included: the code computing the release is part of it), `charts/**` (shared
chart values) and `policies/**` (see `CONFIG_INPUTS`). Stack files (`stacks/`)
are stage-dependent by definition — sizes, contexts, hostnames, the image
reference itself — and are excluded, as are tooling, tests and docs
(`wfdeploy/`, `tests/`, `docs/`, `runbooks/`, `scripts/`). So a release
verified in staging is the same code, shared values, charts and image when it
reaches production, with production's own sizes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from components.charts import pinned_charts
from components.config.types import parse_image

#: The checkout: the root every `CONFIG_INPUTS` glob is relative to (wfdeploy.paths and the tests take it from here).
PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Globs (relative to the project root) whose files make up the stage-independent configuration.
CONFIG_INPUTS: tuple[str, ...] = (
    "Pulumi.yaml",
    "__main__.py",
    "components/**/*",
    "charts/**/*",
    "policies/**/*",
)
#: Never part of a release: generated or machine-local files inside those folders.
_IGNORED_PARTS = frozenset({"__pycache__", ".pytest_cache", "node_modules"})
_IGNORED_SUFFIXES = (".pyc", ".pyo")


def config_files(root: Path = PROJECT_ROOT) -> list[Path]:
    """The files hashed into `configHash`, sorted by their path relative to `root`."""
    files: set[Path] = set()
    for pattern in CONFIG_INPUTS:
        for path in root.glob(pattern):
            relative = path.relative_to(root)
            if path.is_file() and not _IGNORED_PARTS.intersection(relative.parts) and path.suffix not in _IGNORED_SUFFIXES:
                files.add(path)
    return sorted(files, key=lambda path: path.relative_to(root).as_posix())


def config_hash(root: Path = PROJECT_ROOT) -> str:
    """sha256 over (relative path, content) of every stage-independent configuration file."""
    digest = hashlib.sha256()
    for path in config_files(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def image_digest(image: str) -> str:
    """The digest of an image reference, or `unpinned:<tag>` for a tag-only one."""
    _, tag, digest = parse_image(image)
    return digest if digest else f"unpinned:{tag}"


def with_digest(image: str, digest: str) -> str:
    """The same repository pinned to `digest` (the tag, if any, is kept for readers)."""
    name, tag, _ = parse_image(image)
    return f"{name}:{tag}@{digest}" if tag else f"{name}@{digest}"


@dataclass(frozen=True)
class Release:
    """What a stage runs; `id` names it in records, outputs and commands."""

    image_digest: str
    charts: dict[str, str] = field(default_factory=dict)
    config_hash: str = ""

    @property
    def id(self) -> str:
        canonical = json.dumps(
            {"imageDigest": self.image_digest, "charts": self.charts, "configHash": self.config_hash}, sort_keys=True
        )
        return "r-" + hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def deployable(self) -> bool:
        """Only a digest-pinned image can be promoted: a tag may move under us."""
        return self.image_digest.startswith("sha256:")

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "imageDigest": self.image_digest, "charts": dict(self.charts), "configHash": self.config_hash}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Release":
        release = cls(
            image_digest=str(data["imageDigest"]),
            charts={str(k): str(v) for k, v in (data.get("charts") or {}).items()},
            config_hash=str(data.get("configHash", "")),
        )
        if "id" in data and data["id"] != release.id:
            raise ValueError(f"release record {data['id']!r} does not match its contents (computed {release.id})")
        return release

    def differences(self, other: "Release") -> list[str]:
        """Which of the three facts differ, in words."""
        found = []
        if self.image_digest != other.image_digest:
            found.append(f"image digest {self.image_digest} vs {other.image_digest}")
        if self.charts != other.charts:
            changed = sorted(k for k in set(self.charts) | set(other.charts) if self.charts.get(k) != other.charts.get(k))
            found.append(f"chart versions ({', '.join(changed)})")
        if self.config_hash != other.config_hash:
            found.append(f"stage-independent configuration (configHash {self.config_hash[:12]} vs {other.config_hash[:12]})")
        return found


def current_charts() -> dict[str, str]:
    return {name: f"{chart.chart}@{chart.version}" for name, chart in sorted(pinned_charts().items())}


def release_of(workflow_image: str, root: Path = PROJECT_ROOT) -> Release:
    """The release this checkout deploys with the given workflow service image."""
    return Release(image_digest=image_digest(workflow_image), charts=current_charts(), config_hash=config_hash(root))
