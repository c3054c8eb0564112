"""Stage differences are stack settings, strict by default: digest pinning and high availability."""

import pytest

from components.config import ConfigError, promotion_chain
from components.config.availability_rules import MIN_POSTGRES_INSTANCES, MIN_PROXY_REPLICAS, MIN_SERVICE_REPLICAS
from policies.workflow_policies.requirements import StageRequirements
from tests.stagehelpers import STACKS_DIR, load_stage_with, section

P = "workflow-platform"
AVAILABILITY = f"{P}:availability"


def problems_of(stage, overrides=None, drop=()):
    with pytest.raises(ConfigError) as caught:
        load_stage_with(stage, overrides, drop)
    return {problem.path: problem.message for problem in caught.value.problems}


def test_the_last_stage_of_the_chain_states_its_strict_settings():
    # defaults are strict anyway; the stage users reach also says so where a reviewer reads it
    last = promotion_chain(STACKS_DIR)[-1]
    assert section(last, "images")["requireDigests"] is True
    assert section(last, "availability") == {"highlyAvailable": True}


# -- images.requireDigests ---------------------------------------------------------------------------


def test_a_stage_that_does_not_state_require_digests_cannot_allow_tags():
    images = section("staging", "images") | {"allowTags": True}
    assert "requireDigests" not in images
    problems = problems_of("staging", {f"{P}:images": images})
    assert problems == {f"{P}:images.allowTags": "stage 'staging' must pin every image by digest (images.requireDigests "
                        "is true; a stage that may run tag-only images sets requireDigests: false)"}


def test_a_stage_that_opts_out_of_require_digests_may_allow_tags():
    images = section("staging", "images") | {"requireDigests": False, "allowTags": True,
                                              "workflowService": "ghcr.io/example/workflow-service:1.4.2"}
    assert load_stage_with("staging", {f"{P}:images": images}).config.images.allow_tags is True


def test_opting_out_of_require_digests_alone_still_pins_every_image():
    images = section("production", "images") | {"requireDigests": False,
                                                 "workflowService": "ghcr.io/example/workflow-service:1.4.2"}
    problems = problems_of("production", {f"{P}:images": images})
    assert list(problems) == [f"{P}:images.workflowService"]
    assert "digest-pinned" in problems[f"{P}:images.workflowService"]


def test_require_digests_must_be_a_boolean():
    images = section("production", "images") | {"requireDigests": "sometimes"}
    assert "valid boolean" in problems_of("production", {f"{P}:images": images})[f"{P}:images.requireDigests"]


@pytest.mark.parametrize("require_digests, allow_tags, expected", [(True, False, True), (False, False, True), (False, True, False)])
def test_the_policy_pack_requires_digests_as_the_images_section_says(require_digests, allow_tags, expected):
    images = section("staging", "images") | {"requireDigests": require_digests, "allowTags": allow_tags}
    config = load_stage_with("staging", {f"{P}:images": images}).config
    assert StageRequirements.from_config(config).require_digest is expected


# -- availability.highlyAvailable --------------------------------------------------------------------


def test_a_stage_without_the_availability_section_is_held_to_the_highly_available_minimums():
    problems = problems_of("alpha", drop=(AVAILABILITY,))
    hint = " (availability.highlyAvailable defaults to true; a stage that need not survive a node loss sets false)"
    assert problems == {
        f"{P}:service.replicas": f"stage 'alpha' needs at least {MIN_SERVICE_REPLICAS}, got 2{hint}",
        f"{P}:data.postgres.instances": f"stage 'alpha' needs at least {MIN_POSTGRES_INSTANCES}, got 2{hint}",
        f"{P}:edge.proxyReplicas": f"stage 'alpha' needs at least {MIN_PROXY_REPLICAS}, got 1{hint}",
    }


def test_an_empty_availability_section_is_strict_too():
    assert set(problems_of("alpha", {AVAILABILITY: {}})) == {
        f"{P}:service.replicas", f"{P}:data.postgres.instances", f"{P}:edge.proxyReplicas"}


def test_a_stage_that_opts_out_of_high_availability_may_run_single_replicas():
    service = section("staging", "service") | {"replicas": 1}
    assert load_stage_with("staging", {f"{P}:service": service}).config.service.replicas == 1


@pytest.mark.parametrize("proxies, refused", [(MIN_PROXY_REPLICAS - 1, True), (MIN_PROXY_REPLICAS, False)])
def test_a_highly_available_stage_needs_two_edge_proxies(proxies, refused):
    edge = section("production", "edge") | {"proxyReplicas": proxies}
    if refused:
        assert problems_of("production", {f"{P}:edge": edge}) == {
            f"{P}:edge.proxyReplicas": f"stage 'production' needs at least {MIN_PROXY_REPLICAS}, got {proxies}"}
    else:
        assert load_stage_with("production", {f"{P}:edge": edge}).config.edge.proxy_replicas == proxies


def test_high_availability_is_a_boolean_and_the_only_key_of_its_section():
    assert "valid boolean" in problems_of("staging", {AVAILABILITY: {"highlyAvailable": "yes please"}})[
        f"{AVAILABILITY}.highlyAvailable"]
    assert problems_of("staging", {AVAILABILITY: {"highlyAvailable": False, "zones": 3}}) == {
        f"{AVAILABILITY}.zones": "unknown key"}


@pytest.mark.parametrize("stated, expected", [(None, True), (True, True), (False, False)])
def test_the_policy_pack_requires_availability_as_the_stack_file_says(stated, expected):
    # staging meets the minimums, so it loads whichever way the key is set
    overrides = {} if stated is None else {AVAILABILITY: {"highlyAvailable": stated}}
    drop = (AVAILABILITY,) if stated is None else ()
    config = load_stage_with("staging", overrides, drop).config
    assert StageRequirements.from_config(config).require_workflow_availability is expected
