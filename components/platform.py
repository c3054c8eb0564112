"""The whole platform of one stage, assembled from its components.

Reads like a table of contents: each concern is one component, and the only
input is the validated stage configuration.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.backup.component import DatabaseBackups, DatabaseBackupsArgs
from components.config import LoadedStage
from components.config.schema import StageConfig
from components.data import facts as data_facts
from components.data.component import DataTier, DataTierArgs, Endpoint, cache_endpoint, database_endpoint
from components.edge.component import Edge, EdgeArgs
from components.facts import ServiceRef
from components.logging.component import Logging, LoggingArgs
from components.logging.facts import snapshot_store_for
from components.monitoring.component import MonitoredTarget, MonitoringStack, MonitoringStackArgs
from components.monitoring.dashboards import dashboards
from components.monitoring.rules import rule_files
from components.monitoring.values import chart_values
from components.network.component import NetworkPolicies, NetworkPoliciesArgs
from components.network.flows import intended_flows, platform_namespaces
from components.promotion import release_outputs
from components.workflow import facts as workflow_facts
from components.workflow.component import SecretEnv, WorkflowService, WorkflowServiceArgs


def build_platform(stage: LoadedStage) -> dict[str, pulumi.Input]:
    """Declare every resource of the stage; return the stack outputs."""
    config = stage.config
    cluster = k8s.Provider(
        "cluster",
        context=config.cluster.context,
        enable_server_side_apply=True,
    )
    on_cluster = pulumi.ResourceOptions(providers={"kubernetes": cluster})

    database = database_endpoint(config.namespaces.data)
    cache = cache_endpoint(config.namespaces.data)
    workflow = WorkflowService("workflow", workflow_args(config, database, cache), opts=on_cluster)
    data = DataTier("data", data_args(config, client_namespaces=[workflow.namespace]), opts=on_cluster)
    # stages in AWS get an explicit provider pinned to their account; a laptop cluster has none
    cloud = (
        aws.Provider("aws", region=config.aws.region, allowed_account_ids=[config.aws.account_id])
        if config.aws
        else None
    )
    backups = DatabaseBackups(
        "backup",
        backup_args(config, cloud),
        # the backups need the data namespace, not the tier's readiness (its Services' endpoints); the first job
        # runs at its schedule and reads the database Secret then
        opts=pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=data.workload_prerequisites)),
    )
    edge = Edge("edge", edge_args(config, workflow.backend), opts=on_cluster)
    # the snapshot bucket and role go to the stage's account through the same pinned provider as the backups
    logs = Logging(
        "logging",
        logging_args(config),
        opts=pulumi.ResourceOptions(providers={"kubernetes": cluster, **({"aws": cloud} if cloud else {})}),
    )
    monitoring = MonitoringStack("monitoring", monitoring_args(stage), opts=on_cluster)

    # the policies land in the namespaces the components above create: they wait for those Namespaces only,
    # so they are in place as the workloads start instead of after every workload is ready
    owned_namespaces = [*workflow.owned_namespaces, *data.owned_namespaces, *edge.owned_namespaces,
                        *logs.owned_namespaces, *monitoring.owned_namespaces]
    NetworkPolicies(
        "network",
        NetworkPoliciesArgs(namespaces=platform_namespaces(config), flows=intended_flows(config)),
        opts=pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=owned_namespaces)),
    )

    return stack_outputs(config, workflow, data, backups, edge, logs, monitoring)


def stack_outputs(config: StageConfig, workflow: WorkflowService, data: DataTier, backups: DatabaseBackups, edge: Edge,
                  logs: Logging, monitoring: MonitoringStack) -> dict[str, pulumi.Input]:
    """What the stage exports: where each part runs (for verify, promote and the runbooks) and the release."""
    return {
        "stage": config.stage,
        "workflowNamespace": workflow.namespace,
        "workflowServiceName": workflow.service_name,
        "workflowImage": config.images.workflow_service,
        "edgeHostname": edge.hostname,
        "edgeUrl": edge.url,
        "databaseHost": data.database.host,
        "databaseName": data_facts.DATABASE,
        "databaseCredentialsSecret": data.database.secret_name,
        "cacheHost": data.cache.host,
        "backupBucket": backups.bucket,
        "backupCronJob": backups.backup_cronjob,
        "restoreDrillCronJob": backups.restore_drill_cronjob,
        "cacheCredentialsSecret": data.cache.secret_name,
        "loggingNamespace": logs.namespace,
        "elasticsearchUrl": logs.elasticsearch_url,
        "kibanaService": logs.kibana_service,
        "monitoringNamespace": monitoring.namespace,
        **release_outputs(config),
    }


def data_args(config: StageConfig, client_namespaces: list[pulumi.Input[str]]) -> DataTierArgs:
    """The data tier's slice of the stage, and the namespaces whose pods may connect to it."""
    return DataTierArgs(
        namespace=config.namespaces.data,
        settings=config.data,
        postgres_image=config.images.postgres,
        redis_image=config.images.redis,
        redis_exporter_image=config.images.redis_exporter,
        zones=config.cluster.zones,
        client_namespaces=client_namespaces,
        substitutions=config.substitutions,
    )


def backup_args(config: StageConfig, cloud: aws.Provider | None) -> DatabaseBackupsArgs:
    """The backups' slice of the stage; `cloud` is the stage's pinned AWS provider, None without an AWS account."""
    return DatabaseBackupsArgs(
        stage=config.stage,
        namespace=config.namespaces.data,
        settings=config.backup,
        job_image=config.images.backup_job,
        aws=config.aws,
        object_store_image=config.images.backup_object_store,
        aws_provider=cloud,
    )


def edge_args(config: StageConfig, backend: ServiceRef) -> EdgeArgs:
    """The edge's slice of the stage, routing to `backend` (the workflow service)."""
    return EdgeArgs(
        namespace=config.namespaces.edge,
        settings=config.edge,
        backend=backend,
        zones=config.cluster.zones,
        allow_load_balancer=config.cluster.allow_load_balancer_services,
        substitutions=config.substitutions,
    )


def workflow_args(config: StageConfig, database: Endpoint, cache: Endpoint) -> WorkflowServiceArgs:
    """The service's slice of the stage, and where its database and cache are (credentials by Secret reference)."""
    return WorkflowServiceArgs(
        namespace=config.namespaces.workflow,
        image=config.images.workflow_service,
        settings=config.service,
        zones=config.cluster.zones,
        connection_settings={
            "DATABASE_HOST": database.host,
            "DATABASE_PORT": str(database.port),
            "DATABASE_NAME": data_facts.DATABASE,
            "DATABASE_SSLMODE": "require",
            "REDIS_HOST": cache.host,
            "REDIS_PORT": str(cache.port),
        },
        secret_env={
            "DATABASE_USER": SecretEnv(database.secret_name, "username"),
            "DATABASE_PASSWORD": SecretEnv(database.secret_name, "password"),
            "REDIS_PASSWORD": SecretEnv(cache.secret_name, "password"),
        },
    )


def logging_args(config: StageConfig) -> LoggingArgs:
    """The logging slice of the stage; the setup job runs in the repository's job image."""
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


def monitoring_args(stage: LoadedStage) -> MonitoringStackArgs:
    """The monitoring slice of the stage: its documents as `render` writes them, and every concern's scrape target."""
    config = stage.config
    return MonitoringStackArgs(
        namespace=config.namespaces.monitoring,
        settings=config.monitoring,
        secrets=stage.secrets,
        chart_values=chart_values(config),
        rule_files=rule_files(config),
        dashboards=dashboards(config),
        # each concern states how it is scraped (its facts module); the monitors live with the monitoring stack
        targets=(
            MonitoredTarget(workflow_facts.SCRAPE_TARGET, config.namespaces.workflow),
            MonitoredTarget(data_facts.POSTGRES_SCRAPE_TARGET, config.namespaces.data),
            MonitoredTarget(data_facts.CACHE_SCRAPE_TARGET, config.namespaces.data),
        ),
        crds_only=config.substitutions.crds_only,
    )
