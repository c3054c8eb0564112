"""Where the project's inputs and outputs live."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STACKS_DIR = PROJECT_ROOT / "stacks"
RUNBOOKS_DIR = PROJECT_ROOT / "runbooks"
CHARTS_DIR = PROJECT_ROOT / "charts"

#: Overrides where CRD JSON schemas (`<group>/<kind>_<version>.json`) are read from.
CRD_SCHEMAS_ENV = "WFDEPLOY_CRD_SCHEMAS"
#: Overrides the output folder of `render` (default: build/ under the project).
BUILD_DIR_ENV = "WFDEPLOY_BUILD_DIR"


def crd_schema_dir() -> Path:
    configured = os.environ.get(CRD_SCHEMAS_ENV)
    return Path(configured) if configured else PROJECT_ROOT.parent / "shared" / "crd-schemas"


def build_dir() -> Path:
    configured = os.environ.get(BUILD_DIR_ENV)
    return Path(configured) if configured else PROJECT_ROOT / "build"
