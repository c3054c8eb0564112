"""Pinned third-party Helm charts (charts/charts.yaml), installed with helm.v4.Chart or, when hooks matter, helm.v3.Release.

`helm.v4.Chart` renders the release manifest only and never runs Helm hooks; a
chart marked `hooks: true` is installed as `helm.v3.Release`, which installs
through Helm itself, hooks included, and waits for the release to be ready.
Neither has children under the mock engine, so anything a later resource
needs from a chart (its CRDs, its webhook) is ordered with `depends_on` on
the release itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

CHARTS_DIR = Path(__file__).resolve().parent.parent / "charts"


@dataclass(frozen=True)
class PinnedChart:
    release: str
    repository: str
    chart: str
    version: str
    values_file: Path | None
    #: the chart needs its Helm hooks (a certificate Job, a readiness check): install it as helm.v3.Release
    hooks: bool = False
    #: subcharts bundled at this version, by values key (= chart name) -> version
    subcharts: tuple[tuple[str, str], ...] = ()

    def base_values(self) -> dict[str, Any]:
        if self.values_file is None or not self.values_file.is_file():
            return {}
        return yaml.safe_load(self.values_file.read_text()) or {}


@lru_cache(maxsize=1)
def pinned_charts() -> dict[str, PinnedChart]:
    document = yaml.safe_load((CHARTS_DIR / "charts.yaml").read_text()) or {}
    charts = {}
    for release, entry in (document.get("charts") or {}).items():
        missing = [key for key in ("repository", "chart", "version") if not entry.get(key)]
        if missing:
            raise ValueError(f"charts/charts.yaml: chart {release!r} lacks {', '.join(missing)}")
        unknown = sorted(set(entry) - {"repository", "chart", "version", "hooks", "subcharts"})
        if unknown:
            raise ValueError(f"charts/charts.yaml: chart {release!r} has unknown keys {', '.join(unknown)}")
        hooks = entry.get("hooks", False)
        if not isinstance(hooks, bool):
            raise ValueError(f"charts/charts.yaml: chart {release!r}: hooks must be true or false, got {hooks!r}")
        subcharts = entry.get("subcharts") or {}
        if not isinstance(subcharts, dict) or not all(isinstance(v, str) and v for v in subcharts.values()):
            raise ValueError(f"charts/charts.yaml: chart {release!r}: subcharts must map each subchart to its version string")
        values = CHARTS_DIR / "values" / f"{release}.yaml"
        charts[release] = PinnedChart(
            release, entry["repository"], entry["chart"], str(entry["version"]), values, hooks, tuple(sorted(subcharts.items()))
        )
    return charts


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        merged[key] = deep_merge(merged[key], value) if isinstance(merged.get(key), dict) and isinstance(value, dict) else value
    return merged


def release_values(release: str, stage_values: dict[str, Any]) -> dict[str, Any]:
    """The values a release is installed with: the shared file overlaid by the stage's."""
    return deep_merge(pinned_charts()[release].base_values(), stage_values)


class CrdsOnlyRelease(pulumi.ComponentResource):
    """A chart release left out (`substitutions.chartReleases: crds-only`): only its CRDs, installed beforehand, remain.

    Later resources still order after it exactly as after the Chart, so the program's shape does not change.
    """

    def __init__(self, resource_name: str, pinned: PinnedChart, opts: pulumi.ResourceOptions) -> None:
        super().__init__("wf:charts:CrdsOnlyRelease", resource_name, None, opts)
        self.register_outputs({"chart": f"{pinned.chart}@{pinned.version}"})


def install_chart(
    resource_name: str,
    release: str,
    namespace: pulumi.Input[str],
    stage_values: dict[str, Any],
    opts: pulumi.ResourceOptions,
    *,
    crds_only: bool = False,
) -> pulumi.Resource:
    """Install a pinned chart with its shared values overlaid by the stage's (or, `crds_only`, leave it out)."""
    pinned = pinned_charts()[release]
    if crds_only:
        return CrdsOnlyRelease(resource_name, pinned, opts)
    # an OCI registry is addressed by the chart reference itself, a classic repository by repo URL
    oci = pinned.repository.startswith("oci://")
    common = {
        "chart": f"{pinned.repository.rstrip('/')}/{pinned.chart}" if oci else pinned.chart,
        "version": pinned.version,
        "namespace": namespace,
        "repository_opts": None if oci else {"repo": pinned.repository},
        "values": release_values(release, stage_values),
        "skip_await": False,
        "opts": opts,
    }
    if pinned.hooks:
        # the release name as helm.v4.Chart names it (the resource name), not an auto-name with a random suffix;
        # wait_for_jobs: the release is ready only once its hook and regular Jobs have completed
        return k8s.helm.v3.Release(resource_name, name=resource_name, wait_for_jobs=True, **common)
    return k8s.helm.v4.Chart(resource_name, **common)
