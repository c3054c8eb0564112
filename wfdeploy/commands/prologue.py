"""The one prologue of every verb that reads a stage: load its stack file, or print why not and exit 2."""

from __future__ import annotations

import argparse
import functools
import sys
from typing import Callable

from components.config import ConfigError, LoadedStage
from wfdeploy.stages import load_stage

#: Exit code of a refused stack file (bad input), for every verb.
BAD_INPUT = 2

StageVerb = Callable[[argparse.Namespace, LoadedStage], int]


def refused(error: ConfigError) -> int:
    """Print a refused configuration (it names the file, key and what was expected) and return BAD_INPUT."""
    print(error, file=sys.stderr)
    return BAD_INPUT


def with_stage(run: StageVerb) -> Callable[[argparse.Namespace], int]:
    """`run(args, loaded)` for the stage `args.stage` names; a stack file that is refused ends the verb with exit 2."""

    @functools.wraps(run)
    def run_with_stage(args: argparse.Namespace) -> int:
        try:
            loaded = load_stage(args.stage)
        except ConfigError as error:
            return refused(error)
        return run(args, loaded)

    return run_with_stage
