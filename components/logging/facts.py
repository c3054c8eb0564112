"""Facts of the logging concern that other concerns read: names, pods, ports and the snapshot store.

Pure (standard library, `components.config` and `components.facts` only): the
flows table opens the ports and decides on snapshot flows, verification finds
the pods, from these objects.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.config.logging import SnapshotBucketConfig
from components.facts import Pods, as_labels

COMPONENT = "logging"
CHART_RELEASE = "eck-operator"
#: The ECK operator's admission webhook port.
OPERATOR_WEBHOOK_PORT = 9443

ELASTICSEARCH_NAME = "elasticsearch"
KIBANA_NAME = "kibana"
BEAT_NAME = "filebeat"
SETUP_NAME = "logging-setup"
#: The module the setup Job runs (components/logging/retention_job/).
SETUP_JOB_MODULE = "components.logging.retention_job"
#: ECK's fixed container names in the pod templates it merges with ours.
ELASTICSEARCH_CONTAINER = "elasticsearch"
KIBANA_CONTAINER = "kibana"
BEAT_CONTAINER = "filebeat"

ELASTICSEARCH_HTTP_PORT = 9200
#: ECK's HTTP Service in front of the cluster (`<name>-es-http`).
HTTP_SERVICE = f"{ELASTICSEARCH_NAME}-es-http"
ELASTICSEARCH_TRANSPORT_PORT = 9300

ELASTICSEARCH_PODS = Pods(
    ELASTICSEARCH_NAME,
    as_labels({"elasticsearch.k8s.elastic.co/cluster-name": ELASTICSEARCH_NAME}),
    f"Elasticsearch/{ELASTICSEARCH_NAME}",
)
#: Every Elasticsearch pod ECK runs, whatever its cluster (ECK's own type label).
ANY_ELASTICSEARCH_PODS = Pods(ELASTICSEARCH_NAME, as_labels({"common.k8s.elastic.co/type": "elasticsearch"}))
KIBANA_PODS = Pods(KIBANA_NAME, as_labels({"kibana.k8s.elastic.co/name": KIBANA_NAME}), f"Kibana/{KIBANA_NAME}")
SHIPPER_PODS = Pods(BEAT_NAME, as_labels({"beat.k8s.elastic.co/name": BEAT_NAME}), f"Beat/{BEAT_NAME}")
#: The setup job's pods: the Job's template carries only the name label.
SETUP_PODS = Pods(SETUP_NAME, as_labels({"app.kubernetes.io/name": SETUP_NAME}))


@dataclass(frozen=True)
class SnapshotStore:
    """The stage's snapshot bucket in AWS and the cluster's OIDC provider (IRSA) that grants access to it."""

    stage: str
    bucket: SnapshotBucketConfig
    region: str
    oidc_provider_arn: str
    oidc_issuer: str


def snapshot_store_for(config) -> SnapshotStore | None:
    """The snapshot bucket when the stage runs in AWS (an `aws` section and `logging.snapshots.bucket`), else None."""
    aws_account = getattr(config, "aws", None)
    bucket = config.logging.snapshots.bucket
    if aws_account is None or bucket is None:
        return None
    return SnapshotStore(
        stage=config.stage,
        bucket=bucket,
        region=aws_account.region,
        oidc_provider_arn=aws_account.eks_oidc_provider_arn,
        oidc_issuer=aws_account.eks_oidc_issuer,
    )
