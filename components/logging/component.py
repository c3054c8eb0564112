"""The Logging component: the ECK operator, Elasticsearch, Kibana, Filebeat and the setup job.

Container logs flow Filebeat → Elasticsearch (data stream `filebeat-platform-containers`)
→ Kibana. Retention (ILM + index template) and snapshots (S3 repository +
SLM) are applied by `retention_job`, a Job whose code lives in this package.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.charts import install_chart
from components.config.logging import LoggingConfig
from components.config.substitutions import SubstitutionsConfig
from components.hardened_bucket import HardenedBucketSpec, build_hardened_bucket, housekeeping_rules
from components.kube import checkov_skips, child, restricted_namespace, standard_labels, tag_only_image_reasons
from components.logging import retention, setup_job, shipper, stack
from components.logging.facts import CHART_RELEASE, COMPONENT, SnapshotStore
from components.logging.snapshot_access import SnapshotAccessArgs, snapshot_role


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


@dataclass(frozen=True)
class _Snapshots:
    """What the Elasticsearch cluster needs to snapshot into the stage's bucket (all None: no snapshots)."""

    target: retention.SnapshotTarget | None = None
    role_arn: pulumi.Output[str] | None = None
    service_account: str | None = None


class Logging(pulumi.ComponentResource):
    """Everything that collects, stores, retains and snapshots the platform's logs."""

    namespace: pulumi.Output[str]
    elasticsearch_url: str
    kibana_service: str
    setup_job_name: str
    #: the Namespaces it creates (the network policies land in them)
    owned_namespaces: list[k8s.core.v1.Namespace]

    def __init__(self, name: str, args: LoggingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("wf:logging:Logging", name, None, opts)
        settings = args.settings

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
        snapshots = self._snapshots(name, args, namespace)
        elasticsearch = self._search(name, args, snapshots, namespace, operator)
        self._shipper_access(name, shipper_ns, shipper_namespace)
        job_name, setup = self._setup_job(name, args, snapshots, namespace, elasticsearch)
        # the setup job installs the index template first: otherwise the first write creates the data stream
        # without it (no ILM policy, default replicas) and it keeps those settings until the next rollover
        self._shipper(name, args, depends_on=[shipper_namespace, operator, elasticsearch, setup])

        self.owned_namespaces = [namespace, shipper_namespace]
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

    def _snapshots(self, name: str, args: LoggingArgs, namespace: k8s.core.v1.Namespace) -> _Snapshots:
        """The snapshot bucket, the role Elasticsearch assumes for it and the account it assumes it as."""
        settings = args.settings
        if args.snapshot_store is None or not settings.snapshots.enabled:
            return _Snapshots()
        store = args.snapshot_store
        es_service_account = stack.ELASTICSEARCH_NAME
        base_path = settings.snapshots.base_path.strip("/")
        # not the database backup bucket: its Object Lock default retention would pin every snapshot file
        # (SLM deletes only hide them behind delete markers) and its key is the backup jobs' alone
        bucket = build_hardened_bucket(
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
            bucket_arn=bucket.bucket.arn,
            key_arn=bucket.key.arn,
            parent=self,
        )
        k8s.core.v1.ServiceAccount(
            f"{name}-elasticsearch-account",
            metadata={"name": es_service_account, "namespace": args.namespace, "labels": standard_labels(stack.ELASTICSEARCH_NAME, COMPONENT)},
            automount_service_account_token=False,
            opts=child(self, depends_on=[namespace]),
        )
        return _Snapshots(retention.SnapshotTarget(bucket=store.bucket.name, region=store.region), role.arn, es_service_account)

    def _search(
        self, name: str, args: LoggingArgs, snapshots: _Snapshots, namespace: k8s.core.v1.Namespace, operator: pulumi.Resource
    ) -> k8s.apiextensions.CustomResource:
        """The Elasticsearch cluster and Kibana in front of it."""
        settings = args.settings
        elasticsearch = k8s.apiextensions.CustomResource(
            f"{name}-elasticsearch",
            api_version="elasticsearch.k8s.elastic.co/v1",
            kind="Elasticsearch",
            metadata={
                "name": stack.ELASTICSEARCH_NAME,
                "namespace": args.namespace,
                "labels": standard_labels(stack.ELASTICSEARCH_NAME, COMPONENT),
                # an empty map is stored as no field at all: declaring one would be a diff on every preview
                **({"annotations": annotations} if (annotations := stack.elasticsearch_annotations(args.zones)) else {}),
            },
            spec=stack.elasticsearch_spec(
                settings,
                args.zones,
                args.elasticsearch_image,
                service_account=snapshots.service_account,
                snapshot_role_arn=snapshots.role_arn,
                snapshot_region=snapshots.target.region if snapshots.target else None,
            ),
            opts=child(self, depends_on=[namespace, operator]),
        )
        k8s.apiextensions.CustomResource(
            f"{name}-kibana",
            api_version="kibana.k8s.elastic.co/v1",
            kind="Kibana",
            metadata={"name": stack.KIBANA_NAME, "namespace": args.namespace, "labels": standard_labels(stack.KIBANA_NAME, COMPONENT)},
            spec=stack.kibana_spec(settings, args.kibana_image),
            opts=child(self, depends_on=[namespace, operator, elasticsearch]),
        )
        return elasticsearch

    def _shipper_access(self, name: str, shipper_ns: str, shipper_namespace: k8s.core.v1.Namespace) -> None:
        """The shipper's account and its read access to pod metadata across the cluster."""
        shipper_labels = standard_labels(shipper.BEAT_NAME, COMPONENT)
        beat_account = k8s.core.v1.ServiceAccount(
            f"{name}-filebeat-account",
            metadata={"name": shipper.BEAT_NAME, "namespace": shipper_ns, "labels": shipper_labels},
            automount_service_account_token=False,
            opts=child(self, depends_on=[shipper_namespace]),
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

    def _setup_job(
        self, name: str, args: LoggingArgs, snapshots: _Snapshots, namespace: k8s.core.v1.Namespace,
        elasticsearch: pulumi.Resource,
    ) -> tuple[str, k8s.batch.v1.Job]:
        """Retention and snapshots: the desired state as a ConfigMap and the Job that converges the cluster to it."""
        state = retention.desired_state(args.settings, snapshots.target)
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
        return job_name, setup

    def _shipper(self, name: str, args: LoggingArgs, depends_on: list[pulumi.Resource]) -> None:
        """Filebeat in its own namespace, shipping the platform's container logs."""
        shipper_ns = args.settings.shipper.namespace
        k8s.apiextensions.CustomResource(
            f"{name}-filebeat",
            api_version="beat.k8s.elastic.co/v1beta1",
            kind="Beat",
            metadata={"name": shipper.BEAT_NAME, "namespace": shipper_ns, "labels": standard_labels(shipper.BEAT_NAME, COMPONENT)},
            spec=shipper.beat_spec(
                args.settings, args.workflow_namespace, args.namespace, shipper.BEAT_NAME, args.filebeat_image
            ),
            opts=child(self, depends_on=depends_on),
        )
