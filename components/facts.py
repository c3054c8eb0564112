"""The shapes every concern's facts module uses: the label scheme, a set of pods, a scrape target.

Pure (standard library only), so that a concern can read another concern's
facts (`components/<concern>/facts.py`) without importing its component or
Pulumi: the network flows, the monitors, the rules, verification and the load
test all read the same objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PART_OF = "workflow-platform"

Labels = tuple[tuple[str, str], ...]


def standard_labels(name: str, component: str) -> dict[str, str]:
    """The recommended `app.kubernetes.io/*` labels for one workload."""
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
    }


def selector_labels(name: str) -> dict[str, str]:
    """Labels that select one workload's pods; immutable once deployed, so kept minimal."""
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": PART_OF}


def as_labels(labels: dict[str, str]) -> Labels:
    """A label map as a hashable, ordered tuple (frozen dataclasses hold these)."""
    return tuple(sorted(labels.items()))


@dataclass(frozen=True)
class Pods:
    """The pods of one workload: its name, the labels that select them and, when this program does not
    render them itself, what creates them ('<Kind>/<name>' of a custom resource, 'chart:<chart>', 'cluster')."""

    name: str
    labels: Labels
    provided_by: str | None = None

    @property
    def selector(self) -> dict[str, str]:
        return dict(self.labels)


def own_pods(name: str) -> Pods:
    """Pods this program renders, selected by the standard selector labels."""
    return Pods(name, as_labels(selector_labels(name)))


@dataclass(frozen=True)
class ScrapeTarget:
    """How Prometheus scrapes one workload: a ServiceMonitor on its Service's port or a PodMonitor on its pods'.

    `name` names the monitor (and a ServiceMonitor's job, which Prometheus takes from the Service); `port` is
    the port's name, `port_number` the number the pod listens on (None: the stage's own setting decides);
    `monitor_resource` names the monitor's Pulumi resource (`<monitoring>-<monitor_resource>`), part of its
    URN, so it stays as it is once deployed.
    """

    name: str
    kind: str  # "ServiceMonitor" | "PodMonitor"
    monitor_resource: str
    match_labels: Labels
    port: str
    port_number: int | None
    path: str | None = None
    #: the target's own labels (the metric contract's `service`) win over the ones Prometheus attaches
    honor_labels: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ("ServiceMonitor", "PodMonitor"):
            raise ValueError(f"scrape target {self.name!r}: kind must be ServiceMonitor or PodMonitor, got {self.kind!r}")


@dataclass(frozen=True)
class ServiceRef:
    """A Service another component exposes: its namespace and name (values or Pulumi outputs) and its port.

    Components hand these to each other (cdk8s-plus style object references) instead of loose strings.
    """

    namespace: Any
    name: Any
    port: int
