"""The workflow service component, asserted per stage under the mock engine."""

import pytest

from tests.stagehelpers import STAGES, find_object, load_stage_with


@pytest.mark.parametrize("stage", STAGES)
def test_namespace_enforces_pod_security_restricted(synthesized, stage):
    namespace = find_object(synthesized(stage), "Namespace", "workflow")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("stage", STAGES)
def test_deployment_replicas_come_from_the_stack_file(synthesized, stage):
    expected = load_stage_with(stage).config.service.replicas
    deployment = find_object(synthesized(stage), "Deployment", "workflow-service", "workflow")
    assert deployment["spec"]["replicas"] == expected
    assert isinstance(deployment["spec"]["replicas"], int)
