"""Where the project's inputs and outputs live."""

from __future__ import annotations

import os
from pathlib import Path

from components.release import PROJECT_ROOT

STACKS_DIR = PROJECT_ROOT / "stacks"
RUNBOOKS_DIR = PROJECT_ROOT / "runbooks"
CHARTS_DIR = PROJECT_ROOT / "charts"

#: Overrides where the pinned upstream CRD manifests (plain YAML, with their CEL rules) are read from.
CRDS_ENV = "WFDEPLOY_CRDS"
#: Overrides where the pinned charts' default values (`<chart>-<version>.values.yaml`) are read from.
CHART_VALUES_ENV = "WFDEPLOY_CHART_VALUES"
#: Overrides the output folder of `render` (default: build/ under the project).
BUILD_DIR_ENV = "WFDEPLOY_BUILD_DIR"
#: Overrides where derived, machine-local data (parsed CRDs) is kept between runs.
CACHE_DIR_ENV = "WFDEPLOY_CACHE_DIR"

#: build/ folders that are not a stage's render output, so no stage may take their names:
#: results/<stage>/ keeps what verify and loadtest found (render replaces build/<stage>/ whole),
#: local-tier/<stage>/ what `wfdeploy up` created.
RESULTS_FOLDER = "results"
LOCAL_TIER_FOLDER = "local-tier"
RESERVED_BUILD_NAMES = (RESULTS_FOLDER, LOCAL_TIER_FOLDER)


def crd_dir() -> Path:
    configured = os.environ.get(CRDS_ENV)
    return Path(configured) if configured else PROJECT_ROOT.parent / "shared" / "crds"


def chart_values_dir() -> Path:
    configured = os.environ.get(CHART_VALUES_ENV)
    return Path(configured) if configured else PROJECT_ROOT.parent / "shared" / "chart-values"


def build_dir() -> Path:
    configured = os.environ.get(BUILD_DIR_ENV)
    return Path(configured) if configured else PROJECT_ROOT / "build"


def results_dir(stage: str, build_root: Path | None = None) -> Path:
    """build/results/<stage>/: records of what happened to a stage, outside the folder render replaces."""
    return (build_root or build_dir()) / RESULTS_FOLDER / stage


def cache_dir() -> Path:
    """Derived data that is safe to delete (default: ~/.cache/workflow-platform/wfdeploy, or under XDG_CACHE_HOME)."""
    configured = os.environ.get(CACHE_DIR_ENV)
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "workflow-platform" / "wfdeploy"
