"""Stage names: the stack names Pulumi allows, so a name is never a path."""

from __future__ import annotations

import re

#: Pulumi's own stack-name rule (`^[A-Za-z0-9_.-]{1,100}$`), minus a leading '.': '.' and '..' are
#: path parts, and render keeps its temporary folders as build/.<stage>-XXXX.
STAGE_NAME_RULE = "1 to 100 characters of A-Z, a-z, 0-9, '-', '_' and '.', not starting with '.'"
_STAGE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}")


def stage_name_problem(stage: object) -> str | None:
    """Why `stage` is not a stage name, or None when it is one."""
    if not isinstance(stage, str) or not _STAGE_NAME.fullmatch(stage):
        shown = stage if not isinstance(stage, str) or len(stage) <= 60 else stage[:60] + "…"
        return f"{shown!r} is not a stage name: expected {STAGE_NAME_RULE} (Pulumi's stack-name rule)"
    return None
