"""The promotion chain, derived from every stack file's `promotion.previousStage`.

Each stage names the stage whose verified release it takes; the stages that
name or are named form one linear chain (`alpha -> staging -> production`).
A stage that neither names nor is named (a laptop's `local`) is outside it.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from .errors import ConfigError, Problem
from .loader import decode_value, pydantic_problems
from .project import PROJECT
from .promotion import PromotionConfig
from .stackfile import available_stages, read_stack_file, stack_file_path

KEY = f"{PROJECT}:promotion.previousStage"


def previous_stage(stacks_dir: Path, stage: str) -> str | None:
    """`promotion.previousStage` of one stack file, validated as the schema validates it."""
    path = stack_file_path(stacks_dir, stage)
    values, _secret_keys = read_stack_file(path)
    raw = values.get(f"{PROJECT}:promotion")
    if raw is None:
        return None
    try:
        promotion = PromotionConfig.model_validate(decode_value(raw))
    except ValidationError as error:
        raise ConfigError(str(path), pydantic_problems(error, secret_sections=set(), section="promotion")) from None
    return promotion.previous_stage


def _refuse(stacks_dir: Path, stage: str, message: str) -> ConfigError:
    return ConfigError(str(stack_file_path(stacks_dir, stage)), [Problem(KEY, message)])


def promotion_chain(stacks_dir: Path) -> tuple[str, ...]:
    """The one linear promotion chain, first stage first; `ConfigError` naming the file and key otherwise."""
    stages = available_stages(stacks_dir)
    previous = {stage: before for stage in stages if (before := previous_stage(stacks_dir, stage)) is not None}
    following: dict[str, str] = {}
    for stage, before in sorted(previous.items()):
        if before == stage:
            raise _refuse(stacks_dir, stage, f"{stage!r} names itself: a stage takes the release of another stage")
        if before not in stages:
            raise _refuse(stacks_dir, stage, f"names {before!r}, which has no stack file "
                                             f"(stacks: {', '.join(stages)})")
        if before in following:
            other = stack_file_path(stacks_dir, following[before])
            raise _refuse(stacks_dir, stage, f"{before!r} is also the previous stage of {following[before]!r} ({other}): "
                                             "the chain is linear, each stage is followed by at most one")
        following[before] = stage

    chains: list[tuple[str, ...]] = []
    for head in sorted(set(following) - set(previous)):
        chain = [head]
        while chain[-1] in following:
            chain.append(following[chain[-1]])
        chains.append(tuple(chain))
    in_a_cycle = sorted(set(previous) - {stage for chain in chains for stage in chain})
    if in_a_cycle:
        cycle = [in_a_cycle[0]]
        while (before := previous[cycle[-1]]) != cycle[0]:
            cycle.append(before)
        shown = " <- ".join([*cycle, cycle[0]])
        raise _refuse(stacks_dir, cycle[0], f"the stages name each other in a cycle ({shown}): "
                                            "the chain's first stage sets no previousStage")
    if not chains:
        raise ConfigError(str(stacks_dir), [Problem(KEY, "no stack file sets it: there is no promotion chain")])
    if len(chains) > 1:
        first, second = chains[0], chains[1]
        raise _refuse(stacks_dir, second[1], f"starts a second promotion chain ({' -> '.join(second)}) beside "
                                             f"{' -> '.join(first)}: the stages form one chain")
    return chains[0]
