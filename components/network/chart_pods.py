"""The labels the pinned third-party charts really put on their pods: the one place flows name chart workloads by.

Helm renders these charts outside this program (and the mock engine gives a
release no children), so nothing here is derived: each entry is read from the
upstream template at the version `charts/charts.yaml` pins, cited beside it,
and holds only the selector labels (the ones that do not depend on the Helm
release name). Re-read the cited template whenever a chart version changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.charts import pinned_charts


@dataclass(frozen=True)
class ChartPods:
    """One workload of a pinned chart: the release key in charts/charts.yaml, its pod labels, where they come from."""

    release: str
    labels: tuple[tuple[str, str], ...]
    template: str

    @property
    def provided_by(self) -> str:
        """'chart:<chart name>', as the connectivity gate finds the stage's releases."""
        return f"chart:{pinned_charts()[self.release].chart}"


def _pods(release: str, labels: dict[str, str], template: str) -> ChartPods:
    return ChartPods(release, tuple(sorted(labels.items())), template)


#: (release, workload) -> the pods' labels. Values the platform sets (fullnameOverride) never change these.
CHART_PODS: dict[tuple[str, str], ChartPods] = {
    ("cloudnative-pg", "operator"): _pods(
        "cloudnative-pg", {"app.kubernetes.io/name": "cloudnative-pg"},
        "cloudnative-pg/charts charts/cloudnative-pg/templates/_helpers.tpl@cloudnative-pg-v0.26.0 (cloudnative-pg.selectorLabels)",
    ),
    ("envoy-gateway", "controller"): _pods(
        "envoy-gateway", {"control-plane": "envoy-gateway"},
        "envoyproxy/gateway charts/gateway-helm/templates/_helpers.tpl@v1.5.0 (eg.selectorLabels)",
    ),
    ("envoy-gateway", "certgen"): _pods(
        "envoy-gateway", {"app": "certgen"},
        "envoyproxy/gateway charts/gateway-helm/templates/certgen.yaml@v1.5.0 (Job template labels)",
    ),
    ("eck-operator", "operator"): _pods(
        # `control-plane: elastic-operator` is rendered only with global.manifestGen (the all-in-one YAML), never by Helm
        "eck-operator", {"app.kubernetes.io/name": "eck-operator"},
        "elastic/cloud-on-k8s deploy/eck-operator/templates/_helpers.tpl@v3.2.0 (eck-operator.selectorLabels)",
    ),
    ("cert-manager", "controller"): _pods(
        "cert-manager", {"app.kubernetes.io/name": "cert-manager", "app.kubernetes.io/component": "controller"},
        "cert-manager/cert-manager deploy/charts/cert-manager/templates/deployment.yaml@v1.18.2 (spec.selector)",
    ),
    ("cert-manager", "webhook"): _pods(
        "cert-manager", {"app.kubernetes.io/name": "webhook", "app.kubernetes.io/component": "webhook"},
        "cert-manager/cert-manager deploy/charts/cert-manager/templates/webhook-deployment.yaml@v1.18.2 (spec.selector)",
    ),
    ("cert-manager", "cainjector"): _pods(
        "cert-manager", {"app.kubernetes.io/name": "cainjector", "app.kubernetes.io/component": "cainjector"},
        "cert-manager/cert-manager deploy/charts/cert-manager/templates/cainjector-deployment.yaml@v1.18.2 (spec.selector)",
    ),
    ("cert-manager", "startupapicheck"): _pods(
        "cert-manager", {"app.kubernetes.io/name": "startupapicheck", "app.kubernetes.io/component": "startupapicheck"},
        "cert-manager/cert-manager deploy/charts/cert-manager/templates/startupapicheck-job.yaml@v1.18.2 (pod template labels)",
    ),
    ("kube-prometheus-stack", "prometheus"): _pods(
        "kube-prometheus-stack", {"app.kubernetes.io/name": "prometheus"},
        "prometheus-operator/prometheus-operator pkg/prometheus/server/statefulset.go@v0.90.1 (pod labels the operator sets)",
    ),
    ("kube-prometheus-stack", "alertmanager"): _pods(
        "kube-prometheus-stack", {"app.kubernetes.io/name": "alertmanager"},
        "prometheus-operator/prometheus-operator pkg/alertmanager/statefulset.go@v0.90.1 (pod labels the operator sets)",
    ),
    ("kube-prometheus-stack", "operator"): _pods(
        "kube-prometheus-stack", {"app": "kube-prometheus-stack-operator"},
        "prometheus-community/helm-charts charts/kube-prometheus-stack/templates/prometheus-operator/deployment.yaml@83.4.2"
        " (`app: {{ kube-prometheus-stack.name }}-operator`; the name is the chart's, fullnameOverride does not change it)",
    ),
    ("kube-prometheus-stack", "admission-create"): _pods(
        "kube-prometheus-stack", {"app": "kube-prometheus-stack-admission-create"},
        "prometheus-community/helm-charts charts/kube-prometheus-stack/templates/prometheus-operator/admission-webhooks/"
        "job-patch/job-createSecret.yaml@83.4.2",
    ),
    ("kube-prometheus-stack", "admission-patch"): _pods(
        "kube-prometheus-stack", {"app": "kube-prometheus-stack-admission-patch"},
        "prometheus-community/helm-charts charts/kube-prometheus-stack/templates/prometheus-operator/admission-webhooks/"
        "job-patch/job-patchWebhook.yaml@83.4.2",
    ),
    ("kube-prometheus-stack", "grafana"): _pods(
        "kube-prometheus-stack", {"app.kubernetes.io/name": "grafana"},
        "grafana/helm-charts charts/grafana/templates/_helpers.tpl@grafana-11.6.1 (grafana.selectorLabels)",
    ),
    ("kube-prometheus-stack", "kube-state-metrics"): _pods(
        "kube-prometheus-stack", {"app.kubernetes.io/name": "kube-state-metrics"},
        "prometheus-community/helm-charts charts/kube-state-metrics/templates/_helpers.tpl@kube-state-metrics-7.2.2"
        " (kube-state-metrics.selectorLabels)",
    ),
}


def chart_pods(release: str, workload: str) -> ChartPods:
    """The table entry for one chart workload; a missing one is a programming error naming the key."""
    try:
        return CHART_PODS[(release, workload)]
    except KeyError:
        raise KeyError(f"components/network/chart_pods.py has no pod labels for {workload!r} of chart {release!r}") from None
