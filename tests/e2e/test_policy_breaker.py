"""The breakers' own changes: each breaks exactly the policy it is named for (no cluster needed)."""

import pytest

from tests.e2e.policy_breaker import BREAKERS, main, tag_only
from wfdeploy.render.gates.policy_pack import pack_module

rules = pack_module("rules")
DIGEST = "sha256:" + "e" * 64


def test_tag_only_drops_the_digest_and_keeps_or_gives_a_fixed_tag():
    assert tag_only(f"ghcr.io/example/workflow-service:1.4.2@{DIGEST}") == "ghcr.io/example/workflow-service:1.4.2"
    assert tag_only(f"ghcr.io/example/workflow-service@{DIGEST}") == "ghcr.io/example/workflow-service:e2e-tag-only"


@pytest.mark.parametrize("image", [f"ghcr.io/example/workflow-service@{DIGEST}",
                                   f"ghcr.io/example/workflow-service:1.4.2@{DIGEST}"])
def test_the_tag_only_image_breaks_only_the_digest_requirement(image):
    container = {"name": "app", "image": image}
    BREAKERS["tag-only-image"](container)
    spec = {"containers": [container]}
    assert rules.image_problems("Deployment w/s", spec, require_digest=False) == []
    assert rules.image_problems("Deployment w/s", spec, require_digest=True) == [
        f"Deployment w/s containers[app]: image {container['image']!r} must be pinned by digest in this stage"
    ]


def test_the_privileged_breaker_keeps_the_rest_of_the_security_context():
    container = {"name": "app", "securityContext": {"runAsNonRoot": True}}
    BREAKERS["privileged"](container)
    assert container["securityContext"] == {"runAsNonRoot": True, "privileged": True}


@pytest.mark.parametrize("argv", [["production"], ["production", "no-such-breaker"], []])
def test_an_unknown_or_missing_breaker_is_bad_usage_naming_the_choices(argv, capsys):
    assert main(argv) == 2
    assert "BREAKER: privileged, tag-only-image" in capsys.readouterr().err
