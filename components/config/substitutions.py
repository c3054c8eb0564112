"""What a stage swaps for parts an offline, ephemeral cluster cannot run (docs/real-control-plane.md).

Each substitution is a setting, so a stage deploys the same program on a real
cluster and on `wfdeploy cluster up`; nothing branches on a stage name.
"""

from __future__ import annotations

from typing import Literal

from .types import Section


class SubstitutionsConfig(Section):
    """`workflow-platform:substitutions`; the defaults substitute nothing."""

    #: `install`: each pinned chart is installed (helm.v4.Chart). `crds-only`: the release is left out and only
    #: its CRDs, installed beforehand at the pinned versions (../shared/crds), remain; objects that only the
    #: release's operator would serve (its pods behind our Services) are not awaited.
    chart_releases: Literal["install", "crds-only"] = "install"

    @property
    def crds_only(self) -> bool:
        return self.chart_releases == "crds-only"
