"""PostgreSQL for workflow state: a CloudNativePG Cluster behind a PgBouncer Pooler."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components.config.data import PostgresConfig
from components.config.types import memory_bytes
from components.facts import PART_OF
from components.kube import child, standard_labels

from .facts import (
    APP_USER,
    CLUSTER_NAME,
    DATABASE,
    METRICS_PORT_NAME,
    POOLER_METRICS_PORT,
    POOLER_NAME,
    POSTGRES_METRICS_PORT,
)

#: Extra exporter queries over pg_stat_statements, for the < 100 ms query target.
STATEMENT_QUERIES = {
    "pg_stat_statements": {
        "query": (
            "SELECT COALESCE(sum(calls), 0) AS calls, COALESCE(sum(total_exec_time), 0) / 1000 AS exec_seconds, "
            "COALESCE(max(mean_exec_time), 0) / 1000 AS max_mean_exec_seconds FROM pg_stat_statements"
        ),
        "target_databases": [DATABASE],
        "metrics": [
            {"calls": {"usage": "COUNTER", "description": "statements executed"}},
            {"exec_seconds": {"usage": "COUNTER", "description": "time spent executing statements"}},
            {"max_mean_exec_seconds": {"usage": "GAUGE", "description": "slowest mean statement time"}},
        ],
    }
}


def base_parameters(settings: PostgresConfig) -> dict[str, str]:
    """postgresql.conf defaults derived from the instance size; the stack file may override any."""
    memory_mb = memory_bytes(settings.resources.memory) // 2**20
    return {
        "shared_buffers": f"{memory_mb // 4}MB",
        "effective_cache_size": f"{memory_mb * 3 // 4}MB",
        "pg_stat_statements.max": "10000",
        "pg_stat_statements.track": "all",
        "track_io_timing": "on",
        # statements slower than the query target show up in the logs with their plan-relevant text
        "log_min_duration_statement": "250ms",
        "max_connections": "200",
    }


def app_owner_role(app_secret_name: pulumi.Input[str]) -> dict[str, Any]:
    """The app owner as a CNPG managed role: login and CREATEDB only (no CREATEROLE, superuser or replication).

    CREATEDB lets the backup jobs, which use the same Secret, create the restore drill's scratch database; the
    password stays the one in the Secret that bootstraps the cluster, so the two never disagree.
    """
    return {
        "name": APP_USER,
        "ensure": "present",
        "comment": "workflow service and backup jobs; CREATEDB for the restore drill's scratch database",
        "login": True,
        "createdb": True,
        "createrole": False,
        "superuser": False,
        "replication": False,
        "bypassrls": False,
        "inherit": True,
        "connectionLimit": -1,
        "passwordSecret": {"name": app_secret_name},
    }


@dataclass(frozen=True)
class PostgresClusterArgs:
    namespace: pulumi.Input[str]
    image: str
    settings: PostgresConfig
    app_secret_name: pulumi.Input[str]
    zones: list[str] = field(default_factory=list)
    #: what must exist first: the operator chart that installs the CRDs
    requires: list[pulumi.Resource] = field(default_factory=list)
    #: False when the operator is left out (substitutions.chartReleases): nothing will serve the pods it would make
    operator_runs: bool = True


class PostgresCluster(pulumi.ComponentResource):
    """The CloudNativePG Cluster, its Pooler and Services for their exporters."""

    def __init__(self, name: str, args: PostgresClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("wf:data:PostgresCluster", name, None, opts)
        labels = standard_labels(CLUSTER_NAME, "database")

        queries = k8s.core.v1.ConfigMap(
            f"{name}-queries",
            metadata={
                "name": f"{CLUSTER_NAME}-queries",
                "namespace": args.namespace,
                # the operator reloads the exporter when a labelled ConfigMap changes
                "labels": {**labels, "cnpg.io/reload": ""},
            },
            data={"queries": yaml.safe_dump(STATEMENT_QUERIES, sort_keys=False)},
            opts=child(self),
        )
        cluster = k8s.apiextensions.CustomResource(
            f"{name}-cluster",
            api_version="postgresql.cnpg.io/v1",
            kind="Cluster",
            metadata={"name": CLUSTER_NAME, "namespace": args.namespace, "labels": labels},
            spec=cluster_spec(args, queries.metadata["name"]),
            opts=child(self, depends_on=args.requires),
        )
        self._pooler(name, args, cluster)
        self._exporter_services(name, args)

        self.cluster_name = cluster.metadata["name"]
        self.register_outputs({"cluster_name": self.cluster_name})

    def _pooler(self, name: str, args: PostgresClusterArgs, cluster: pulumi.Resource) -> None:
        """PgBouncer in front of the primary, spread like the instances."""
        settings = args.settings
        pooler_selector = {"cnpg.io/poolerName": POOLER_NAME}
        k8s.apiextensions.CustomResource(
            f"{name}-pooler",
            api_version="postgresql.cnpg.io/v1",
            kind="Pooler",
            metadata={"name": POOLER_NAME, "namespace": args.namespace, "labels": standard_labels(POOLER_NAME, "database-pooler")},
            spec={
                "cluster": {"name": CLUSTER_NAME},
                "instances": settings.pooler_instances,
                "type": "rw",
                "pgbouncer": {
                    "poolMode": settings.pool_mode,
                    "parameters": {
                        "max_client_conn": str(settings.max_client_connections),
                        "default_pool_size": str(settings.default_pool_size),
                    },
                },
                "monitoring": {"enablePodMonitor": False},
                "template": {
                    "metadata": {"labels": {"app.kubernetes.io/part-of": PART_OF}},
                    "spec": {
                        "containers": [],
                        "topologySpreadConstraints": [
                            {
                                "maxSkew": 1,
                                "topologyKey": key,
                                "whenUnsatisfiable": "ScheduleAnyway",
                                "labelSelector": {"matchLabels": pooler_selector},
                            }
                            for key in (["topology.kubernetes.io/zone"] if args.zones else []) + ["kubernetes.io/hostname"]
                        ],
                    },
                },
            },
            opts=child(self, depends_on=[cluster, *args.requires]),
        )

    def _exporter_services(self, name: str, args: PostgresClusterArgs) -> None:
        """Services that give the monitoring concern stable `metrics` ports to scrape."""
        cluster_selector = {"cnpg.io/cluster": CLUSTER_NAME}
        pooler_selector = {"cnpg.io/poolerName": POOLER_NAME}
        for suffix, selector, port in (
            # the pooler's pods carry `cnpg.io/cluster` too: only the instances serve the exporter port
            ("metrics", {**cluster_selector, "cnpg.io/podRole": "instance"}, POSTGRES_METRICS_PORT),
            ("pooler-metrics", pooler_selector, POOLER_METRICS_PORT),
        ):
            k8s.core.v1.Service(
                f"{name}-{suffix}",
                metadata={
                    "name": f"{CLUSTER_NAME}-{suffix}",
                    "namespace": args.namespace,
                    "labels": standard_labels(f"{CLUSTER_NAME}-{suffix}", "metrics"),
                    # the provider waits for ready endpoints; without the operator there never are any
                    **({} if args.operator_runs else {"annotations": {"pulumi.com/skipAwait": "true"}}),
                },
                spec={
                    "type": "ClusterIP",
                    "selector": selector,
                    "ports": [{"name": METRICS_PORT_NAME, "port": port, "targetPort": port, "protocol": "TCP"}],
                },
                opts=child(self),
            )


def cluster_spec(args: PostgresClusterArgs, queries_config_map: pulumi.Input[str]) -> dict[str, Any]:
    """The CloudNativePG Cluster's spec: instances, parameters, bootstrap, the managed app role, storage, spread."""
    settings = args.settings
    cluster_selector = {"cnpg.io/cluster": CLUSTER_NAME}
    spec: dict[str, Any] = {
        "description": "workflow state",
        "instances": settings.instances,
        "imageName": args.image,
        "primaryUpdateStrategy": "unsupervised",
        "primaryUpdateMethod": "switchover",
        "enableSuperuserAccess": False,
        "enablePDB": True,
        "postgresql": {
            "shared_preload_libraries": ["pg_stat_statements"],
            "parameters": {**base_parameters(settings), **settings.parameters},
        },
        "bootstrap": {
            "initdb": {
                "database": DATABASE,
                "owner": APP_USER,
                "secret": {"name": args.app_secret_name},
                "dataChecksums": True,
                "postInitApplicationSQL": ["CREATE EXTENSION IF NOT EXISTS pg_stat_statements"],
            }
        },
        # the app owner is a managed role so its attributes are declared, not left to initdb: the restore
        # drill and `restore` (components.backup.job) create databases with these credentials, hence CREATEDB
        "managed": {"roles": [app_owner_role(args.app_secret_name)]},
        "storage": {"size": settings.storage_size, **({"storageClass": settings.storage_class} if settings.storage_class else {})},
        "resources": settings.resources.as_kubernetes(),
        "affinity": {
            "enablePodAntiAffinity": True,
            "podAntiAffinityType": settings.anti_affinity,
            "topologyKey": "kubernetes.io/hostname",
        },
        "monitoring": {
            # the exporter on :9187 always runs; scraping is configured by the monitoring concern
            "enablePodMonitor": False,
            "customQueriesConfigMap": [{"name": queries_config_map, "key": "queries"}],
        },
        "inheritedMetadata": {"labels": {"app.kubernetes.io/part-of": PART_OF}},
    }
    if settings.wal_storage_size:
        spec["walStorage"] = {"size": settings.wal_storage_size}
    if args.zones:
        spec["topologySpreadConstraints"] = [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": cluster_selector},
            }
        ]
    return spec
