"""Test-only: preview a stage whose workflow-service container breaks one mandatory policy, through the real CLI.

Run in the workspace copy: `python tests/e2e/policy_breaker.py STAGE BREAKER`, BREAKER one of
`privileged` (a privileged container, refused by `pod-security-restricted`) or `tag-only-image`
(the image's digest dropped, refused by `pinned-images` where the stage requires digests). The
stage's program is unchanged; a resource transform (never part of the product) breaks the
container after the schema has accepted the stack, so only the policy pack stands in the way.
Exit 1 when the preview is refused (the CLI's report on stderr), 0 when it passes, 2 on bad usage.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable

sys.path.insert(0, os.getcwd())  # the workspace copy, so its program and stack files are the ones used

import pulumi  # noqa: E402
from pulumi import automation as auto  # noqa: E402

from components.config.types import parse_image  # noqa: E402
from wfdeploy.cluster import stack_driver  # noqa: E402
from wfdeploy.paths import PROJECT_ROOT  # noqa: E402

#: The Deployment every breaker changes: the workflow service's (components/workflow).
DEPLOYMENT = "workflow-service"
#: The tag a tag-only image gets when the stage's image has none (production pins by digest alone).
TEST_TAG = "e2e-tag-only"


def tag_only(image: str) -> str:
    """`image` without its digest, keeping (or giving it) a fixed tag: only the digest requirement refuses it."""
    name, tag, _ = parse_image(image)
    return f"{name}:{tag or TEST_TAG}"


def _privileged(container: dict[str, Any]) -> None:
    container["securityContext"] = {**container.get("securityContext", {}), "privileged": True}


def _tag_only_image(container: dict[str, Any]) -> None:
    container["image"] = tag_only(container["image"])


#: One breaker per mandatory policy: what it does to each container of the Deployment.
BREAKERS: dict[str, Callable[[dict[str, Any]], None]] = {
    "privileged": _privileged,
    "tag-only-image": _tag_only_image,
}


def _transform(breaker: Callable[[dict[str, Any]], None]):
    def transform(args: pulumi.ResourceTransformArgs):
        if args.type_ != "kubernetes:apps/v1:Deployment" or args.props["metadata"].get("name") != DEPLOYMENT:
            return None
        props = dict(args.props)
        for container in props["spec"]["template"]["spec"]["containers"]:
            breaker(container)
        return pulumi.ResourceTransformResult(props, args.opts)

    return transform


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in BREAKERS:
        print(f"usage: policy_breaker.py STAGE BREAKER (BREAKER: {', '.join(BREAKERS)})", file=sys.stderr)
        return 2
    stage, breaker = argv

    def program() -> None:
        pulumi.runtime.register_resource_transform(_transform(BREAKERS[breaker]))
        stack_driver._program()

    options = auto.LocalWorkspaceOptions(work_dir=str(PROJECT_ROOT), secrets_provider="passphrase")
    stack = auto.create_or_select_stack(stack_name=stage, project_name=stack_driver.PROJECT_NAME,
                                        program=program, opts=options)
    with stack_driver.policy_pack_launcher() as launcher:
        try:
            stack.preview(policy_packs=[launcher], on_output=print, color="never")
        except auto.CommandError as error:
            print(str(error), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
