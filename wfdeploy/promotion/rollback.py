"""Rollback: re-deploy a release this stage verified before, with `pulumi up` (config and digest).

`kubectl rollout undo` only changes the cluster, and the next `pulumi up`
reverts it; rolling back through the stack's configuration makes the older
release the declared state. The target is the newest release recorded as
verified in this stage that is not the one it runs, or `--to RELEASE`.
"""

from __future__ import annotations

import json

from components.release import release_of
from wfdeploy.promotion.deployer import Deployer, Outcome, Refusal, parse_values, require_confirmation
from wfdeploy.promotion.records import Entry, RecordsError


def choose_target(history: list[Entry], current_id: str | None, wanted: str | None, stage: str) -> Entry:
    """The verified entry to go back to (newest first), or a refusal saying why there is none."""
    verified = [entry for entry in reversed(history) if entry.event == "verified"]
    known = ", ".join(dict.fromkeys(entry.release_id for entry in verified)) or "none"
    if wanted is not None:
        if wanted == current_id:
            raise Refusal(f"stage {stage!r} already runs release {wanted}; nothing to roll back to")
        for entry in verified:
            if entry.release_id == wanted:
                return entry
        raise Refusal(f"release {wanted} was never verified in {stage!r} (records/{stage}.json); verified releases: {known}")
    for entry in verified:
        if entry.release_id != current_id:
            return entry
    raise Refusal(f"no earlier verified release of {stage!r} is recorded (records/{stage}.json); verified releases: {known}")


def rollback(deployer: Deployer, stage: str, wanted: str | None = None, confirmed_stage: str | None = None) -> Outcome:
    outputs = deployer.automation.stack_outputs(stage)
    current = outputs.get("release")
    current_id = current.get("id") if isinstance(current, dict) else None
    try:
        history = deployer.records.history(stage)
    except RecordsError as error:
        raise Refusal(f"nothing was changed: {error}") from None
    target = choose_target(history, current_id, wanted, stage)
    loaded = parse_values(stage, target.stack_config, f"records/{stage}.json entry of {target.at}")
    require_confirmation(loaded, confirmed_stage)
    try:
        release = target.as_release()
    except (KeyError, TypeError, ValueError) as error:
        raise Refusal(
            f"records/{stage}.json entry of {target.at}: its release cannot be read ({error}); "
            "expected {\"id\", \"imageDigest\", \"charts\", \"configHash\"}"
        ) from None
    here = release_of(loaded.config.images.workflow_service)
    if here.id != release.id:
        raise Refusal(
            f"this checkout cannot re-deploy release {release.id} exactly (it differs in "
            f"{'; '.join(release.differences(here))}): `git checkout {target.git_commit or '<its commit>'}` "
            f"(recorded with the release) and run the rollback from there"
        )
    deployer.say(f"rolling {stage} back from {current_id or 'an unknown release'} to {release.id} (verified {target.at})")
    # the stack takes the whole recorded configuration: objects as nested keys, never secrets
    changes = [(key, value, False) for key, value in sorted(target.stack_config.items())]
    return deployer.deploy(loaded, release, dict(target.stack_config), changes, f"rollback:{current_id or 'unknown'}", "rolled-back")


def describe(entry: Entry) -> str:
    try:
        images = json.loads(entry.stack_config.get("workflow-platform:images", "{}"))
    except json.JSONDecodeError:
        images = {}
    image = images.get("workflowService", "?") if isinstance(images, dict) else "?"
    return f"{entry.release_id}  {entry.at}  {image}"
