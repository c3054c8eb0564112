"""Configuration errors: every problem of a stack at once, each naming its key."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    message: str


class ConfigError(Exception):
    """Raised before any resource is declared; its text lists every offending key."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = sorted(set(problems))
        super().__init__(str(self))

    def __reduce__(self):
        # rebuilt from its fields, so it crosses a process pool (`render --all`) as itself
        return type(self), (self.source, self.problems)

    def __str__(self) -> str:
        count = len(self.problems)
        lines = [f"{self.source}: {count} configuration problem{'s' if count != 1 else ''}:"]
        lines += [f"  - {problem.path}: {problem.message}" for problem in self.problems]
        return "\n".join(lines)
