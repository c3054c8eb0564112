"""The Logging component: the ECK operator, Elasticsearch, Kibana, Filebeat and the setup job.

Container logs flow Filebeat → Elasticsearch (data stream `filebeat-platform-containers`)
→ Kibana. Retention (ILM + index template) and snapshots (S3 repository +
SLM) are applied by `retention_job`, a Job whose code lives in this package.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.backup.hardened_bucket import HardenedBucketSpec, build_hardened_bucket, housekeeping_rules
from components.charts import install_chart
from components.config.logging import LoggingConfig, SnapshotBucketConfig
from components.config.substitutions import SubstitutionsConfig
from components.kube import checkov_skips, child, restricted_namespace, standard_labels, tag_only_image_reasons
from components.logging import retention, setup_job, shipper, stack
from components.logging.snapshot_access import SnapshotAccessArgs, snapshot_role

COMPONENT = "logging"
CHART_RELEASE = "eck-operator"


@dataclass(frozen=True)
class SnapshotStore:
    """The stage's snapshot bucket in AWS and the cluster's OIDC provider (IRSA) that grants access to it."""

    stage: str
    bucket: SnapshotBucketConfig
    region: str
    oidc_provider_arn: str
    oidc_issuer: str


@dataclass(frozen=True)
class LoggingArgs:
    namespace: str
    workflow_namespace: str
    settings: LoggingConfig
    job_image: str
    zones: list[str] = field(default_factory=list)
    snapshot_store: SnapshotStore | None = None
    elasticsearch_image: str | None = None
    kibana_image: str | None = None
    filebeat_image: str | None = None
    substitutions: SubstitutionsConfig = field(default_factory=SubstitutionsConfig)


def shipper_namespace_labels(namespace: str) -> dict[str, str]:
    """Pod Security `privileged` (host log paths), audited against `baseline` so anything beyond that shows up."""
    return {
        **standard_labels(namespace, COMPONENT),
        "kubernetes.io/metadata.name": namespace,
        "pod-security.kubernetes.io/enforce": "privileged",
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/audit": "baseline",
        "pod-security.kubernetes.io/audit-version": "latest",
    }


class Logging(pulumi.ComponentResource):
    """Everything that collects, stores, retains and snapshots the platform's logs."""

    namespace: pulumi.Output[str]
    elasticsearch_url: str
    kibana_service: str
    setup_job_name: str

    def __init__(self, name: str, args: LoggingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("wf:logging:Logging", name, None, opts)
        settings = args.settings
        es_labels = standard_labels(stack.ELASTICSEARCH_NAME, COMPONENT)

        namespace = restricted_namespace(f"{name}-namespace", args.namespace, COMPONENT, child(self))
        shipper_ns = settings.shipper.namespace
        shipper_namespace = k8s.core.v1.Namespace(
            f"{name}-shipper-namespace",
            metadata={"name": shipper_ns, "labels": shipper_namespace_labels(shipper_ns)},
            opts=child(self),
        )
        # the operator brings the CRDs: every custom resource below waits for the chart
        operator = install_chart(
            f"{name}-{CHART_RELEASE}",
            CHART_RELEASE,
            args.namespace,
            {"managedNamespaces": [args.namespace, shipper_ns]},
            child(self, depends_on=[namespace]),
            crds_only=args.substitutions.crds_only,
        )
        with_crds = child(self, depends_on=[namespace, operator])

        snapshot_target = None
        snapshot_role_arn = None
        es_service_account = None
        if args.snapshot_store is not None and settings.snapshots.enabled:
            store = args.snapshot_store
            es_service_account = stack.ELASTICSEARCH_NAME
            base_path = settings.snapshots.base_path.strip("/")
            # not the database backup bucket: its Object Lock default retention would pin every snapshot file
            # (SLM deletes only hide them behind delete markers) and its key is the backup jobs' alone
            snapshots = build_hardened_bucket(
                f"{name}-snapshots",
                HardenedBucketSpec(
                    stage=store.stage,
                    purpose="log-snapshots",
                    bucket_name=store.bucket.name,
                    key_alias=f"alias/workflow-{store.stage}-log-snapshots",
                    lifecycle_rules=housekeeping_rules(f"{base_path}/", store.bucket.noncurrent_version_expiration_days),
                    force_destroy=store.bucket.force_destroy,
                    object_lock=None,
                ),
                parent=self,
            )
            role = snapshot_role(
                f"{name}-snapshot-role",
                SnapshotAccessArgs(
                    bucket=store.bucket.name,
                    base_path=settings.snapshots.base_path,
                    oidc_provider_arn=store.oidc_provider_arn,
                    oidc_issuer=store.oidc_issuer,
                    namespace=args.namespace,
                    service_account=es_service_account,
                ),
                bucket_arn=snapshots.bucket.arn,
                key_arn=snapshots.key.arn,
                parent=self,
            )
            k8s.core.v1.ServiceAccount(
                f"{name}-elasticsearch-account",
                metadata={"name": es_service_account, "namespace": args.namespace, "labels": es_labels},
                automount_service_account_token=False,
                opts=child(self, depends_on=[namespace]),
            )
            snapshot_target = retention.SnapshotTarget(bucket=store.bucket.name, region=store.region)
            snapshot_role_arn = role.arn

        elasticsearch = k8s.apiextensions.CustomResource(
            f"{name}-elasticsearch",
            api_version="elasticsearch.k8s.elastic.co/v1",
            kind="Elasticsearch",
            metadata={
                "name": stack.ELASTICSEARCH_NAME,
                "namespace": args.namespace,
                "labels": es_labels,
                # an empty map is stored as no field at all: declaring one would be a diff on every preview
                **({"annotations": annotations} if (annotations := stack.elasticsearch_annotations(args.zones)) else {}),
            },
            spec=stack.elasticsearch_spec(
                settings,
                args.zones,
                args.elasticsearch_image,
                service_account=es_service_account,
                snapshot_role_arn=snapshot_role_arn,
                snapshot_region=snapshot_target.region if snapshot_target else None,
            ),
            opts=with_crds,
        )
        k8s.apiextensions.CustomResource(
            f"{name}-kibana",
            api_version="kibana.k8s.elastic.co/v1",
            kind="Kibana",
            metadata={"name": stack.KIBANA_NAME, "namespace": args.namespace, "labels": standard_labels(stack.KIBANA_NAME, COMPONENT)},
            spec=stack.kibana_spec(settings, args.kibana_image),
            opts=child(self, depends_on=[namespace, operator, elasticsearch]),
        )

        # -- the shipper, in its own namespace --------------------------------------------------
        shipper_labels = standard_labels(shipper.BEAT_NAME, COMPONENT)
        in_shipper_namespace = child(self, depends_on=[shipper_namespace])
        beat_account = k8s.core.v1.ServiceAccount(
            f"{name}-filebeat-account",
            metadata={"name": shipper.BEAT_NAME, "namespace": shipper_ns, "labels": shipper_labels},
            automount_service_account_token=False,
            opts=in_shipper_namespace,
        )
        cluster_role = k8s.rbac.v1.ClusterRole(
            f"{name}-filebeat-role",
            metadata={"name": f"{shipper_ns}-{shipper.BEAT_NAME}", "labels": shipper_labels},
            rules=shipper.CLUSTER_ROLE_RULES,
            opts=child(self),
        )
        k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-filebeat-binding",
            metadata={"name": f"{shipper_ns}-{shipper.BEAT_NAME}", "labels": shipper_labels},
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role.metadata["name"]},
            subjects=[{"kind": "ServiceAccount", "name": beat_account.metadata["name"], "namespace": shipper_ns}],
            opts=child(self),
        )

        # -- retention and snapshots: the setup job ---------------------------------------------
        state = retention.desired_state(settings, snapshot_target)
        job_name = setup_job.job_name(state, args.job_image)
        state_map = k8s.core.v1.ConfigMap(
            f"{name}-setup-state",
            metadata={"name": job_name, "namespace": args.namespace, "labels": standard_labels(setup_job.SETUP_NAME, COMPONENT)},
            data={setup_job.STATE_FILE: setup_job.state_document(state)},
            opts=child(self, depends_on=[namespace]),
        )
        setup = k8s.batch.v1.Job(
            f"{name}-setup",
            metadata={
                "name": job_name,
                "namespace": args.namespace,
                "labels": standard_labels(setup_job.SETUP_NAME, COMPONENT),
                # a first deployment waits for the cluster to form before the job can finish
                "annotations": {"pulumi.com/timeoutSeconds": "3600", **checkov_skips(tag_only_image_reasons(args.job_image))},
            },
            spec=setup_job.job_spec(args.namespace, args.job_image, job_name),
            opts=child(self, depends_on=[state_map, elasticsearch]),
        )

        # -- the shipper writes once the setup job has finished ----------------------------------
        k8s.apiextensions.CustomResource(
            f"{name}-filebeat",
            api_version="beat.k8s.elastic.co/v1beta1",
            kind="Beat",
            metadata={"name": shipper.BEAT_NAME, "namespace": shipper_ns, "labels": shipper_labels},
            spec=shipper.beat_spec(
                settings, args.workflow_namespace, args.namespace, shipper.BEAT_NAME, args.filebeat_image
            ),
            # the setup job installs the index template first: otherwise the first write creates the data stream
            # without it (no ILM policy, default replicas) and it keeps those settings until the next rollover
            opts=child(self, depends_on=[shipper_namespace, operator, elasticsearch, setup]),
        )

        self.namespace = namespace.metadata["name"]
        self.elasticsearch_url = stack.http_url(args.namespace)
        self.kibana_service = f"{stack.KIBANA_NAME}-kb-http"
        self.setup_job_name = job_name
        self.register_outputs(
            {
                "namespace": self.namespace,
                "elasticsearch_url": self.elasticsearch_url,
                "kibana_service": self.kibana_service,
                "setup_job_name": self.setup_job_name,
            }
        )


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


def logging_args(config) -> LoggingArgs:
    """The component's arguments from a stage configuration; the setup job runs in the repository's job image."""
    return LoggingArgs(
        namespace=config.namespaces.logging,
        workflow_namespace=config.namespaces.workflow,
        settings=config.logging,
        job_image=config.images.backup_job,
        zones=list(config.cluster.zones),
        snapshot_store=snapshot_store_for(config),
        elasticsearch_image=config.images.elasticsearch,
        kibana_image=config.images.kibana,
        filebeat_image=config.images.filebeat,
        substitutions=config.substitutions,
    )
