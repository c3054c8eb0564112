"""Monitor-selection gate: Prometheus' selectors pick up every monitor and rule the alerts rely on.

The platform's own ServiceMonitors, PodMonitors and PrometheusRules come from
the synthesis; the chart's and its subcharts' monitors from
`components/monitoring/chart_monitors.py`, with the labels the pinned charts
render. A monitor the selectors miss is never scraped, so its alerts go
silent (or, for `absent()` rules such as BackupStale, page on a healthy cluster).
"""

from __future__ import annotations

from typing import Any

from components.charts import pinned_charts
from components.monitoring import facts as names
from components.monitoring.chart_monitors import chart_monitors
from wfdeploy.render.context import GateFailure, RenderContext, object_name
from wfdeploy.render.synth import Synthesis

#: prometheusSpec field prefix per selected kind.
SELECTED_KINDS = {"ServiceMonitor": "serviceMonitor", "PodMonitor": "podMonitor", "Probe": "probe", "PrometheusRule": "rule"}
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


class SelectorError(ValueError):
    """A selector this gate cannot evaluate (an unknown operator): never a silent pass."""


def selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics: {} selects everything; None selects nothing."""
    if selector is None:
        return False
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        if operator == "In":
            ok = key in labels and labels[key] in values
        elif operator == "NotIn":
            ok = key not in labels or labels[key] not in values
        elif operator == "Exists":
            ok = key in labels
        elif operator == "DoesNotExist":
            ok = key not in labels
        else:
            raise SelectorError(f"unknown selector operator {operator!r} for key {key!r}")
        if not ok:
            return False
    return True


def _selects_namespace(selector: dict[str, Any] | None, namespace: str, prometheus_namespace: str) -> bool:
    # prometheus-operator: a nil namespace selector means the Prometheus object's own namespace only
    if selector is None:
        return namespace == prometheus_namespace
    return selects(selector, {NAMESPACE_NAME_LABEL: namespace})


def selection_failures(values: dict[str, Any], release_namespace: str, objects: list[dict[str, Any]]) -> list[GateFailure]:
    """Every relied-on monitor or rule that the release's Prometheus would not load."""
    spec = (values.get("prometheus") or {}).get("prometheusSpec") or {}
    candidates = [
        (obj["kind"], object_name(obj), obj["metadata"].get("namespace", ""), obj["metadata"].get("labels") or {}, "")
        for obj in objects
        if obj.get("kind") in SELECTED_KINDS and str(obj.get("apiVersion", "")).startswith("monitoring.coreos.com/")
    ]
    candidates += [
        (monitor.kind, f"{monitor.kind} {monitor.namespace}/{monitor.name} (chart)", monitor.namespace, monitor.labels,
         f" (labels as {monitor.template} renders them; needed for {monitor.needed_for})")
        for monitor in chart_monitors(values, release_namespace)
    ]
    failures = []
    for kind, subject, namespace, labels, source in candidates:
        prefix = SELECTED_KINDS[kind]
        if spec.get(f"{prefix}SelectorNilUsesHelmValues", True):
            failures.append(GateFailure(subject, f"prometheusSpec.{prefix}SelectorNilUsesHelmValues is not false: the chart "
                                                 "replaces the selector with its release label"))
            continue
        try:
            label_ok = selects(spec.get(f"{prefix}Selector"), labels)
            namespace_ok = _selects_namespace(spec.get(f"{prefix}NamespaceSelector"), namespace, release_namespace)
        except SelectorError as error:
            failures.append(GateFailure(subject, f"prometheusSpec.{prefix}Selector cannot be evaluated: {error}"))
            continue
        if not label_ok:
            failures.append(GateFailure(subject, f"labels {labels} do not match prometheusSpec.{prefix}Selector "
                                                 f"{spec.get(f'{prefix}Selector')}{source}"))
        elif not namespace_ok:
            failures.append(GateFailure(subject, f"namespace {namespace!r} is outside prometheusSpec.{prefix}NamespaceSelector{source}"))
    return failures


def monitoring_release(synthesis: Synthesis):
    """The kube-prometheus-stack release the stage declares, or None."""
    chart = pinned_charts()[names.RELEASE].chart
    for resource in synthesis.resources:
        if resource.type.startswith("kubernetes:helm.sh/") and str(resource.inputs.get("chart", "")).rsplit("/", 1)[-1] == chart:
            return resource
    return None


def monitor_selection(context: RenderContext) -> list[GateFailure]:
    release = monitoring_release(context.synthesis)
    if release is None:
        return []
    return selection_failures(release.inputs.get("values") or {}, release.inputs.get("namespace", ""), context.synthesis.kubernetes_objects())
