"""The whole platform of one stage, assembled from its components.

Reads like a table of contents: each concern is one component, and the only
input is the validated stage configuration.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.config import LoadedStage
from components.workflow import WorkflowService, WorkflowServiceArgs


def build_platform(stage: LoadedStage) -> dict[str, pulumi.Input]:
    """Declare every resource of the stage; return the stack outputs."""
    config = stage.config
    cluster = k8s.Provider(
        "cluster",
        context=config.cluster.context,
        enable_server_side_apply=True,
    )
    on_cluster = pulumi.ResourceOptions(providers={"kubernetes": cluster})

    workflow = WorkflowService(
        "workflow",
        WorkflowServiceArgs(
            namespace=config.namespaces.workflow,
            image=config.images.workflow_service,
            settings=config.service,
            zones=config.cluster.zones,
        ),
        opts=on_cluster,
    )

    return {
        "stage": config.stage,
        "workflowNamespace": workflow.namespace,
        "workflowServiceName": workflow.service_name,
        "workflowImage": config.images.workflow_service,
    }
