"""Which resources one phase of the first production deployment creates, as `pulumi up --target` URNs.

Reads `pulumi preview --json` on stdin and prints one URN per line: the
resources the phase selects, every provider, and — so that a targeted update
never references an untargeted resource — their ancestors (components) and
dependencies, transitively.

    pulumi preview --stack production --json | python scripts/migration/targets.py operators
    ... | python scripts/migration/targets.py data --namespace workflow-data
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable

#: Both release types components/charts.py installs pinned charts with (v3.Release for charts with hooks).
CHART_TYPES = ("kubernetes:helm.sh/v4:Chart", "kubernetes:helm.sh/v3:Release")


def _namespace(state: dict[str, Any]) -> str | None:
    metadata = (state.get("inputs") or {}).get("metadata") or {}
    return metadata.get("namespace") if isinstance(metadata, dict) else None


def phase_selector(phase: str, namespace: str | None) -> Callable[[dict[str, Any]], bool]:
    """Operators: every pinned chart (with its CRDs) and the namespaces; data: all in the data namespace."""
    if phase == "operators":
        return lambda state: state.get("type") in (*CHART_TYPES, "kubernetes:core/v1:Namespace")
    if phase == "data":
        if not namespace:
            raise SystemExit("targets.py data needs --namespace (the stage's namespaces.data)")
        return lambda state: _namespace(state) == namespace or state.get("type", "").startswith(
            "kubernetes:postgresql.cnpg.io/"
        )
    raise SystemExit(f"unknown phase {phase!r}; expected operators or data")


def _provider_urn(reference: str | None) -> str | None:
    """A provider reference is '<provider urn>::<id>'."""
    return reference.rsplit("::", 1)[0] if reference and "::" in reference else None


def targets(preview: dict[str, Any], selected: Callable[[dict[str, Any]], bool]) -> list[str]:
    states = {}
    for step in preview.get("steps", []):
        state = step.get("newState") or step.get("oldState")
        if state and state.get("urn"):
            states[state["urn"]] = state
    wanted = [urn for urn, state in states.items() if selected(state) or state.get("type", "").startswith("pulumi:providers:")]
    chosen: dict[str, None] = {}
    while wanted:
        urn = wanted.pop()
        if urn in chosen or urn not in states:
            continue
        chosen[urn] = None
        state = states[urn]
        related = [state.get("parent"), _provider_urn(state.get("provider")), *(state.get("dependencies") or [])]
        for dependencies in (state.get("propertyDependencies") or {}).values():
            related += dependencies
        wanted += [other for other in related if other]
    # the stack itself is never a target
    return sorted(urn for urn in chosen if states[urn].get("type") != "pulumi:pulumi:Stack")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("phase", choices=["operators", "data"])
    parser.add_argument("--namespace", help="the data namespace (phase data)")
    args = parser.parse_args(argv)
    urns = targets(json.load(sys.stdin), phase_selector(args.phase, args.namespace))
    if not urns:
        print(f"no resources selected for phase {args.phase}", file=sys.stderr)
        return 1
    print("\n".join(urns))
    return 0


if __name__ == "__main__":
    sys.exit(main())
