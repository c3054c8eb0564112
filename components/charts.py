"""Pinned third-party Helm charts (charts/charts.yaml), installed with helm.v4.Chart.

The mock engine gives a remote component such as `helm.v4.Chart` no children,
so anything a later resource needs from a chart (its CRDs) is ordered with
`depends_on` on the Chart itself.
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
        values = CHARTS_DIR / "values" / f"{release}.yaml"
        charts[release] = PinnedChart(release, entry["repository"], entry["chart"], str(entry["version"]), values)
    return charts


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        merged[key] = deep_merge(merged[key], value) if isinstance(merged.get(key), dict) and isinstance(value, dict) else value
    return merged


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
) -> k8s.helm.v4.Chart | CrdsOnlyRelease:
    """Install a pinned chart with its shared values overlaid by the stage's (or, `crds_only`, leave it out)."""
    pinned = pinned_charts()[release]
    if crds_only:
        return CrdsOnlyRelease(resource_name, pinned, opts)
    # an OCI registry is addressed by the chart reference itself, a classic repository by repo URL
    oci = pinned.repository.startswith("oci://")
    return k8s.helm.v4.Chart(
        resource_name,
        chart=f"{pinned.repository.rstrip('/')}/{pinned.chart}" if oci else pinned.chart,
        version=pinned.version,
        namespace=namespace,
        repository_opts=None if oci else {"repo": pinned.repository},
        values=deep_merge(pinned.base_values(), stage_values),
        skip_await=False,
        opts=opts,
    )
