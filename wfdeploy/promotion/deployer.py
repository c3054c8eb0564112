"""Promotion: move a verified release one stage along alpha -> staging -> production.

`promote(FROM, TO)` refuses to skip a stage and refuses a source whose current
release is not verified; then it runs TO's preflight, pins TO's workflow image
to the verified digest, previews, applies, runs `wfdeploy verify TO` and
records each outcome. `checkout -> alpha` is the chain's entry: it deploys this
working tree's release to alpha. Everything outside goes through `Automation`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

from components.config import ConfigError, LoadedStage, parse_stage, promotion_chain, read_stack_file, stack_file_path
from components.release import Release, release_of, with_digest
from wfdeploy.paths import STACKS_DIR
from wfdeploy.promotion.automation import Automation
from wfdeploy.promotion.preflight import format_failures, run_preflight
from wfdeploy.promotion.records import Entry, RecordsError, RecordStore, git_commit

#: The source name that means "this working tree" (only into the first stage).
CHECKOUT = "checkout"

IMAGE_KEY = "workflow-platform:images.workflowService"
VERIFIED_KEY = "workflow-platform:promotion.verifiedRelease"

# exit codes shared by `promote` and `rollback`; 4: Pulumi/kubectl/aws could not be asked (AutomationError)
OK, FAILED, REFUSED, PREFLIGHT_FAILED, TOOL_FAILED = 0, 1, 2, 3, 4


class Refusal(Exception):
    """Nothing was changed: the request itself is not allowed (exit 2), or preflight failed (exit 3)."""

    def __init__(self, message: str, code: int = REFUSED) -> None:
        super().__init__(message)
        self.code = code


def promotion_stages() -> tuple[str, ...]:
    """The promotion chain from the stack files' `promotion.previousStage`; `local` is outside it."""
    try:
        return promotion_chain(STACKS_DIR)
    except ConfigError as error:
        raise Refusal(str(error)) from None


@dataclass
class Outcome:
    """What a promotion or rollback did; `code` is the command's exit code."""

    stage: str
    release_id: str
    code: int
    message: str
    events: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.code == OK


def stack_config(stage: str) -> dict[str, str]:
    """The stage's non-secret stack configuration as the CLI passes it (secrets never leave the file)."""
    try:
        values, secret_keys = read_stack_file(stack_file_path(STACKS_DIR, stage))
    except ConfigError as error:
        raise Refusal(str(error)) from None
    return {key: value for key, value in values.items() if key not in secret_keys}


def with_image(values: dict[str, str], image: str) -> dict[str, str]:
    """Stack configuration running `image`, without a verification marker (it is not verified yet)."""
    result = dict(values)
    images = json.loads(result["workflow-platform:images"])
    images["workflowService"] = image
    result["workflow-platform:images"] = json.dumps(images, sort_keys=True)
    if "workflow-platform:promotion" in result:
        promotion = json.loads(result["workflow-platform:promotion"])
        promotion.pop("verifiedRelease", None)
        result["workflow-platform:promotion"] = json.dumps(promotion, sort_keys=True)
    return result


def parse_values(stage: str, values: dict[str, str], source: str) -> LoadedStage:
    try:
        return parse_stage(stage, values, set(), source=source, offline=True)
    except ConfigError as error:
        raise Refusal(str(error)) from None


def require_confirmation(loaded: LoadedStage, confirmed_stage: str | None) -> None:
    stage = loaded.config.stage
    if loaded.config.promotion.require_confirmation and confirmed_stage != stage:
        raise Refusal(
            f"stage {stage!r} changes only with explicit confirmation: add --yes-i-mean-{stage} "
            f"(promotion.requireConfirmation in stacks/Pulumi.{stage}.yaml)"
        )


def check_chain(source: str, target: str) -> None:
    """Refuse anything but one step along the chain (or checkout into its first stage)."""
    stages = promotion_stages()
    chain = " -> ".join(stages)
    if target not in stages:
        raise Refusal(f"{target!r} is not a stage of the promotion chain ({chain}); deploy it with `pulumi up` instead")
    if source == CHECKOUT:
        if target != stages[0]:
            raise Refusal(f"a checkout is promoted into {stages[0]!r} only, not {target!r}: the chain is {chain}")
        return
    if source not in stages:
        raise Refusal(f"{source!r} is not a stage of the promotion chain ({chain}) nor {CHECKOUT!r}")
    step = stages.index(target) - stages.index(source)
    if step > 1:
        skipped = ", ".join(stages[stages.index(source) + 1 : stages.index(target)])
        raise Refusal(f"refusing to skip {skipped}: promote {source} -> {stages[stages.index(source) + 1]} first ({chain})")
    if step < 1:
        raise Refusal(f"promotion goes forward only ({chain}); to go back use `wfdeploy rollback {target}`")


def verified_source_release(automation: Automation, source: str) -> Release:
    """The source stage's current release, only if it is the one it verified."""
    outputs = automation.stack_outputs(source)
    current, verified = outputs.get("release"), outputs.get("verifiedRelease")
    if not isinstance(current, dict) or not current.get("id"):
        raise Refusal(f"stage {source!r} has no deployed release (no `release` output); deploy and verify it first")
    if not isinstance(verified, dict) or verified.get("id") != current["id"]:
        stages = promotion_stages()
        previous = stages[stages.index(source) - 1] if stages.index(source) > 0 else CHECKOUT
        raise Refusal(
            f"stage {source!r} runs release {current['id']}, which is not verified; "
            f"verify it there first: `wfdeploy promote {previous} {source}` (or fix it and re-run `wfdeploy verify {source}`)"
        )
    return Release.from_dict(verified)


class Deployer:
    """Promotion and rollback over one `Automation` boundary and one record store."""

    def __init__(self, automation: Automation, records: RecordStore, say: Callable[[str], Any] = print) -> None:
        self.automation = automation
        self.records = records
        self.say = say

    # -- the steps every change goes through ----------------------------------
    def _record(self, stage: str, event: str, release: Release, source: str, config: dict[str, str], detail: str = "") -> None:
        self.records.append(
            Entry(
                stage=stage,
                event=event,
                release=release.to_dict(),
                source=source,
                git_commit=git_commit(),
                stack_config=config,
                detail=detail,
            )
        )

    def preflight(self, loaded: LoadedStage) -> None:
        failures = run_preflight(loaded, self.automation)
        if failures:
            raise Refusal(format_failures(loaded.config.stage, failures), code=PREFLIGHT_FAILED)
        self.say(f"preflight for {loaded.config.stage}: ok")

    def deploy(
        self,
        loaded: LoadedStage,
        release: Release,
        config: dict[str, str],
        changes: list[tuple[str, str, bool]],
        source: str,
        applied_event: str,
    ) -> Outcome:
        """Preflight, set `changes` (key, value, path), preview, up, verify, mark verified; record every outcome."""
        stage = loaded.config.stage
        # a stage must never run a release that no record shows: refuse now if the record could not be written
        try:
            self.records.check_writable(stage)
        except RecordsError as error:
            raise Refusal(f"nothing was changed: {error}") from None
        self.preflight(loaded)
        events: list[str] = []

        def finish(event: str, code: int, message: str, detail: str = "") -> Outcome:
            self._record(stage, event, release, source, config, detail)
            events.append(event)
            return Outcome(stage, release.id, code, message, events)

        for key, value, path in changes:
            self.automation.set_config(stage, key, value, path=path)
        # unverified until `wfdeploy verify` passes again, even when the same release is re-deployed
        self.automation.unset_config(stage, VERIFIED_KEY, path=True)
        preview = self.automation.preview(stage)
        if not preview.ok:
            return finish("preview-failed", FAILED, f"preview of {stage} failed, nothing applied: {preview.summary}", preview.summary)
        self.say(f"preview of {stage}: {preview.summary}")
        applied = self.automation.up(stage)
        if not applied.ok:
            return finish(
                "apply-failed", FAILED,
                f"`pulumi up` of {stage} failed: {applied.summary}; the stage may be partly updated — "
                f"fix and re-run, or `wfdeploy rollback {stage}`",
                applied.summary,
            )
        self._record(stage, applied_event, release, source, config, applied.summary)
        events.append(applied_event)
        verification = self.automation.verify(stage)
        if not verification.ok:
            return finish(
                "verification-failed", FAILED,
                f"release {release.id} is deployed to {stage} but verification failed: {verification.summary}; "
                f"it is not promotable. Roll back with `wfdeploy rollback {stage}` (runbooks/rollback.md)",
                verification.summary,
            )
        # the marker is config, so the next update exports verifiedRelease from the backend
        self.automation.set_config(stage, VERIFIED_KEY, release.id, path=True)
        marked = self.automation.up(stage)
        if not marked.ok:
            return finish(
                "verification-failed", FAILED,
                f"release {release.id} passed verification in {stage}, but recording it in the stack failed: "
                f"{marked.summary}; re-run the command",
                f"marking verified failed: {marked.summary}",
            )
        return finish("verified", OK, f"release {release.id} is deployed and verified in {stage}", verification.summary)

    # -- promotion ------------------------------------------------------------
    def promote(self, source: str, target: str, confirmed_stage: str | None = None, image: str | None = None) -> Outcome:
        check_chain(source, target)
        current = stack_config(target)
        loaded_now = parse_values(target, current, f"stacks/Pulumi.{target}.yaml")
        require_confirmation(loaded_now, confirmed_stage)
        previous = loaded_now.config.promotion.previous_stage
        if source == CHECKOUT:
            if previous is not None:
                raise Refusal(f"stacks/Pulumi.{target}.yaml names {previous!r} as previous stage; it is not the chain's entry")
            new_image = image or loaded_now.config.images.workflow_service
            try:
                candidate = release_of(new_image)
            except ValueError as error:
                raise Refusal(f"--image: {error}") from None
            if not candidate.deployable:
                raise Refusal(f"image {new_image!r} is not pinned by digest; only a digest can be promoted")
        else:
            if image is not None:
                raise Refusal("--image applies to `promote checkout alpha` only: later stages take the verified digest")
            if previous != source:
                raise Refusal(
                    f"stacks/Pulumi.{target}.yaml says its previous stage is {previous!r}, not {source!r}: "
                    "fix promotion.previousStage/previousStack there"
                )
            candidate = verified_source_release(self.automation, source)
            new_image = with_digest(loaded_now.config.images.workflow_service, candidate.image_digest)
            here = release_of(new_image)
            if here.id != candidate.id:
                raise Refusal(
                    f"this checkout would not deploy {source}'s verified release {candidate.id} to {target} "
                    f"(it differs in {'; '.join(candidate.differences(here))}); check out the commit that "
                    f"{source} was deployed from (records/{source}.json, gitCommit) and run again"
                )
        config = with_image(current, new_image)
        loaded = parse_values(target, config, f"stacks/Pulumi.{target}.yaml with image {new_image}")
        self.say(f"promoting release {candidate.id} from {source} to {target}")
        changes = [(IMAGE_KEY, new_image, True)] if new_image != loaded_now.config.images.workflow_service else []
        return self.deploy(loaded, candidate, config, changes, source, "deployed")
