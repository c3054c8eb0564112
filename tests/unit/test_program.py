"""The Pulumi program itself, run by the SDK's mock engine as `pulumi up` would run it."""

import json

import pulumi
import pytest
from pulumi.runtime import settings as runtime_settings

from components import program
from tests.stagehelpers import stack_values

P = "workflow-platform"


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self):
        self.created = []

    def new_resource(self, args):
        self.created.append((args.typ, args.name))
        return [f"{args.name}-id", dict(args.inputs)]

    def call(self, args):
        return {}


@pytest.fixture
def mocks():
    recording = RecordingMocks()
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(recording, project=P, stack="alpha", preview=False)
    yield recording
    pulumi.runtime.set_all_config({}, [])


def resolved_values(stage: str) -> tuple[dict[str, str], set[str]]:
    """The stage's config as after an operator resolved every placeholder digest."""
    values, secret_keys = stack_values(stage)
    images = json.loads(values[f"{P}:images"])
    images.pop("placeholderDigests", None)
    return dict(values, **{f"{P}:images": json.dumps(images)}), secret_keys


@pulumi.runtime.test
def _run_program_with_alpha_config():
    values, secret_keys = resolved_values("alpha")
    pulumi.runtime.set_all_config(values, list(secret_keys))
    outputs = program.run()

    def check(resolved):
        stage, namespace, image = resolved
        assert stage == "alpha"
        assert namespace == "workflow"
        assert "@sha256:" in image

    return pulumi.Output.all(outputs["stage"], outputs["workflowNamespace"], outputs["workflowImage"]).apply(check)


def test_program_reads_the_stage_from_pulumi_config_and_exports_outputs(mocks):
    _run_program_with_alpha_config()
    assert ("kubernetes:apps/v1:Deployment", "workflow-deployment") in mocks.created


def test_config_error_stops_the_program_before_any_resource_without_a_traceback(mocks):
    values, secret_keys = stack_values("alpha")
    values = dict(values, **{f"{P}:service": '{"replicas": -1}'})
    pulumi.runtime.set_all_config(values, list(secret_keys))
    with pytest.raises(pulumi.RunError) as caught:
        program.run()
    assert f"{P}:service.replicas" in str(caught.value)
    assert f"{P}:service.resources: required key is missing" in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert [created for created in mocks.created if not created[0].startswith("pulumi:")] == []


def test_under_the_engine_a_placeholder_digest_stops_the_program_naming_each_image(mocks):
    values, secret_keys = stack_values("alpha")
    pulumi.runtime.set_all_config(values, list(secret_keys))
    with pytest.raises(pulumi.RunError) as caught:
        program.run()
    message = str(caught.value)
    for key in ("backupJob", "postgres", "redis", "redisExporter", "elasticsearch", "kibana", "filebeat"):
        assert f"{P}:images.{key}: placeholder digest" in message
    assert "docs/deployment-guide.md#resolving-placeholder-image-digests" in message
    assert [created for created in mocks.created if not created[0].startswith("pulumi:")] == []


def test_a_stage_that_allows_tags_may_carry_placeholders_under_the_engine(mocks):
    # the rule is about stages that require digests (allowTags: false), never about a stage's name
    values, secret_keys = stack_values("alpha")
    images = json.loads(values[f"{P}:images"]) | {"allowTags": True}
    pulumi.runtime.set_all_config(dict(values, **{f"{P}:images": json.dumps(images)}), list(secret_keys))
    _declare()
    assert ("kubernetes:apps/v1:Deployment", "workflow-deployment") in mocks.created


@pulumi.runtime.test
def _declare():
    return pulumi.Output.from_input(program.run()["stage"])
