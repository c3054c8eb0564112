"""Test-only: preview a stage whose workflow-service container is privileged, through the real CLI and policy pack.

Run in the workspace copy: `python tests/e2e/policy_breaker.py STAGE`. The stage's program is
unchanged; a resource transform (never part of the product) makes the container privileged,
which the schema cannot express, so only the policy pack stands in the way.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.getcwd())  # the workspace copy, so its program and stack files are the ones used

import pulumi  # noqa: E402
from pulumi import automation as auto  # noqa: E402

from wfdeploy.cluster import stack_driver  # noqa: E402
from wfdeploy.paths import PROJECT_ROOT  # noqa: E402


def _privileged(args: pulumi.ResourceTransformArgs):
    if args.type_ != "kubernetes:apps/v1:Deployment" or args.props["metadata"].get("name") != "workflow-service":
        return None
    props = dict(args.props)
    template = props["spec"]["template"]
    for container in template["spec"]["containers"]:
        container["securityContext"] = {**container.get("securityContext", {}), "privileged": True}
    return pulumi.ResourceTransformResult(props, args.opts)


def _program() -> None:
    pulumi.runtime.register_resource_transform(_privileged)
    stack_driver._program()


def main() -> int:
    options = auto.LocalWorkspaceOptions(work_dir=str(PROJECT_ROOT), secrets_provider="passphrase")
    stack = auto.create_or_select_stack(stack_name=sys.argv[1], project_name=stack_driver.PROJECT_NAME,
                                        program=_program, opts=options)
    with stack_driver.policy_pack_launcher() as launcher:
        try:
            stack.preview(policy_packs=[launcher], on_output=print, color="never")
        except auto.CommandError as error:
            print(str(error), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
