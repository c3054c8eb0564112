"""The data tier: PostgreSQL (CloudNativePG operator, Cluster, Pooler) and the Redis cache.

Passwords are generated here and exist only in Kubernetes Secrets: one in the
data namespace (read by CloudNativePG and Redis) and a copy in each client
namespace, since a pod can only reference Secrets of its own namespace.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.charts import install_chart
from components.config.data import DataConfig
from components.config.substitutions import SubstitutionsConfig
from components.kube import child, restricted_namespace

from .facts import APP_SECRET, APP_USER, AUTH_SECRET, CACHE_NAME, DATABASE, OPERATOR_RELEASE, POOLER_NAME, POSTGRES_PORT, REDIS_PORT
from .passwords import generated_password, secret_labels
from .postgres import PostgresCluster, PostgresClusterArgs
from .redis import RedisCache, RedisCacheArgs


@dataclass(frozen=True)
class DataTierArgs:
    namespace: str
    settings: DataConfig
    postgres_image: str
    redis_image: str
    redis_exporter_image: str
    zones: list[str] = field(default_factory=list)
    #: namespaces whose pods connect (they receive copies of the credential Secrets)
    client_namespaces: list[pulumi.Input[str]] = field(default_factory=list)
    substitutions: SubstitutionsConfig = field(default_factory=SubstitutionsConfig)


@dataclass(frozen=True)
class Endpoint:
    """Where a client connects: host, port and the Secret holding its credentials."""

    host: str
    port: int
    secret_name: str


class DataTier(pulumi.ComponentResource):
    """Everything stateful the workflow service needs."""

    database: Endpoint
    cache: Endpoint
    #: what a workload placed in the data namespace needs at creation: the namespace (the Secrets it references
    #: are read when its pods start, so they need not come first)
    workload_prerequisites: list[pulumi.Resource]
    #: the Namespaces it creates (the network policies land in them)
    owned_namespaces: list[k8s.core.v1.Namespace]

    def __init__(self, name: str, args: DataTierArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("wf:data:DataTier", name, None, opts)
        settings = args.settings

        operator_namespace = restricted_namespace(
            f"{name}-operator-namespace", settings.operator_namespace, "database-operator", child(self)
        )
        operator = install_chart(
            f"{name}-operator",
            OPERATOR_RELEASE,
            operator_namespace.metadata["name"],
            {"replicaCount": settings.operator_replicas},
            child(self, depends_on=[operator_namespace]),
            crds_only=args.substitutions.crds_only,
        )
        namespace = restricted_namespace(f"{name}-namespace", args.namespace, "data", child(self))
        in_namespace = child(self, depends_on=[namespace])

        app_secrets = self._credentials(name, args, namespace, in_namespace)

        database = PostgresCluster(
            f"{name}-postgres",
            PostgresClusterArgs(
                namespace=namespace.metadata["name"],
                image=args.postgres_image,
                settings=settings.postgres,
                app_secret_name=APP_SECRET,
                zones=args.zones,
                # the bootstrap reads the app Secret: declare it before the Cluster
                requires=[operator, namespace, *app_secrets],
                operator_runs=not args.substitutions.crds_only,
            ),
            opts=child(self),
        )
        cache = RedisCache(
            f"{name}-redis",
            RedisCacheArgs(
                namespace=namespace.metadata["name"],
                image=args.redis_image,
                exporter_image=args.redis_exporter_image,
                settings=settings.redis,
                auth_secret_name=AUTH_SECRET,
                zones=args.zones,
            ),
            opts=in_namespace,
        )

        self.owned_namespaces = [operator_namespace, namespace]
        self.workload_prerequisites = [namespace]
        self.database = database_endpoint(args.namespace)
        self.database_name = DATABASE
        self.cache = cache_endpoint(args.namespace)
        self.register_outputs(
            {
                "database_host": self.database.host,
                "cache_host": self.cache.host,
                "cluster_name": database.cluster_name,
                "cache_service": cache.service_name,
            }
        )

    def _credentials(
        self, name: str, args: DataTierArgs, namespace: k8s.core.v1.Namespace, in_namespace: pulumi.ResourceOptions
    ) -> list[pulumi.Resource]:
        """Generated passwords, in a Secret of the data namespace and a copy in each client namespace.

        Returns the data namespace's database Secret, which the Cluster's bootstrap reads.
        """
        db_password = generated_password(f"{name}-db-password", child(self))
        cache_password = generated_password(f"{name}-cache-password", child(self))
        target_namespaces: list[pulumi.Input[str]] = [namespace.metadata["name"], *args.client_namespaces]
        app_secrets: list[pulumi.Resource] = []
        for index, target in enumerate(target_namespaces):
            suffix = "" if index == 0 else f"-client{index}"
            app_secret = k8s.core.v1.Secret(
                f"{name}-db-app{suffix}",
                metadata={"name": APP_SECRET, "namespace": target, "labels": secret_labels(APP_SECRET)},
                type="kubernetes.io/basic-auth",
                string_data={"username": APP_USER, "password": db_password},
                opts=in_namespace,
            )
            app_secrets += [app_secret] if index == 0 else []
            k8s.core.v1.Secret(
                f"{name}-cache-auth{suffix}",
                metadata={"name": AUTH_SECRET, "namespace": target, "labels": secret_labels(AUTH_SECRET)},
                type="Opaque",
                string_data={"password": cache_password},
                opts=in_namespace,
            )
        return app_secrets


def database_endpoint(namespace: str) -> Endpoint:
    """The PgBouncer (read-write) endpoint clients use; known before the tier is declared."""
    return Endpoint(f"{POOLER_NAME}.{namespace}.svc", POSTGRES_PORT, APP_SECRET)


def cache_endpoint(namespace: str) -> Endpoint:
    """The Redis primary endpoint clients use."""
    return Endpoint(f"{CACHE_NAME}.{namespace}.svc", REDIS_PORT, AUTH_SECRET)
