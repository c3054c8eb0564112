"""Chart-values gate: every values key the platform sets exists in the pinned chart's default values.

Helm ignores a key the chart does not read, so a typo (`persistance`) or a
key a chart version renamed silently changes nothing. Each key set for a
release must exist in that chart's `values.yaml` at the pinned version
(../shared/chart-values), or in a bundled subchart's under the subchart's
key, unless its parent is a free-form map: a default of `{}` or null, or one
of the maps listed below with the reason it is free-form.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from components.charts import PinnedChart, deep_merge, pinned_charts
from wfdeploy.paths import CHART_VALUES_ENV, chart_values_dir
from wfdeploy.render.context import GateFailure, RenderContext

#: Keys whose value is a Kubernetes API object or a label map, wherever they appear: the API server
#: validates their content, the chart passes it through.
KUBERNETES_OBJECT_KEYS = {
    "securityContext": "a PodSecurityContext or SecurityContext",
    "containerSecurityContext": "a container SecurityContext",
    "podSecurityContext": "a PodSecurityContext",
    "resources": "ResourceRequirements",
    "storageSpec": "the operator's StorageSpec",
    "storage": "the operator's StorageSpec",
}

#: Free-form maps at one path of one chart (dotted from the chart's values root), and why.
FREE_FORM_PATHS: dict[str, dict[str, str]] = {
    "kube-prometheus-stack": {
        "alertmanager.config": "Alertmanager's own configuration file (the monitoring gate runs amtool on it)",
        "grafana.grafana.ini": "sections and keys of grafana.ini, passed through as written",
    },
}

#: Keys a chart's templates read that its values.yaml does not list, with where they are read.
TEMPLATE_ONLY_KEYS: dict[str, dict[str, str]] = {
    "kube-prometheus-stack": {
        "grafana.fullnameOverride": "grafana/templates/_helpers.tpl (grafana.fullname) reads .Values.fullnameOverride",
    },
}


class _ValuesLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """Reads gateway-helm's `values.tmpl.yaml` too: its `${…}` placeholders are plain strings to YAML."""


def values_file(folder: Path, chart: str, version: str) -> Path:
    candidates = sorted(folder.glob(f"{chart}-{version}.values*.yaml"))
    if not candidates:
        raise FileNotFoundError(f"no default values of chart {chart} {version} under {folder} (set {CHART_VALUES_ENV})")
    return candidates[0]


@lru_cache(maxsize=None)
def _load(path: Path) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_ValuesLoader) or {}


def chart_defaults(pinned: PinnedChart, folder: Path) -> dict[str, Any]:
    """The chart's defaults with each bundled subchart's under its key (the parent's values for it win, as in Helm)."""
    defaults = dict(_load(values_file(folder, pinned.chart, pinned.version)))
    for subchart, version in pinned.subcharts:
        defaults[subchart] = deep_merge(_load(values_file(folder, subchart, version)), defaults.get(subchart) or {})
    return defaults


def unknown_keys(values: dict[str, Any], defaults: dict[str, Any], release: str, path: str = "") -> list[str]:
    """Dotted paths of keys set in `values` that the chart's defaults do not have."""
    free_form = FREE_FORM_PATHS.get(release, {})
    template_only = TEMPLATE_ONLY_KEYS.get(release, {})
    unknown = []
    for key, value in values.items():
        here = f"{path}.{key}" if path else key
        if key not in defaults:
            if here not in template_only:
                unknown.append(here)
            continue
        default = defaults[key]
        descend = (
            isinstance(value, dict)
            and isinstance(default, dict)
            and default  # `{}` is a free-form map
            and key not in KUBERNETES_OBJECT_KEYS
            and here not in free_form
        )
        if descend:
            unknown += unknown_keys(value, default, release, here)
    return unknown


def _release_of(resource) -> str | None:
    chart = str(resource.inputs.get("chart", "")).rstrip("/").rsplit("/", 1)[-1]
    return next((name for name, pinned in pinned_charts().items() if pinned.chart == chart), None)


def chart_values(context: RenderContext) -> list[GateFailure]:
    folder = chart_values_dir()
    failures = []
    for resource in context.synthesis.resources:
        if not resource.type.startswith("kubernetes:helm.sh/"):
            continue
        release = _release_of(resource)
        if release is None:
            failures.append(GateFailure(resource.name, f"installs chart {resource.inputs.get('chart')!r}, which charts/charts.yaml does not pin"))
            continue
        pinned = pinned_charts()[release]
        try:
            defaults = chart_defaults(pinned, folder)
        except FileNotFoundError as error:
            failures.append(GateFailure(resource.name, str(error)))
            continue
        for key in unknown_keys(resource.inputs.get("values") or {}, defaults, release):
            failures.append(
                GateFailure(f"{resource.name} ({pinned.chart} {pinned.version})",
                            f"values key {key!r} does not exist in the chart's default values: Helm would ignore it")
            )
    return failures
