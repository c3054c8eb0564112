"""Offline synthesis: run the real Pulumi program under the SDK's mock engine.

No CLI, cluster or cloud account is involved. Every resource the program
registers is recorded with its inputs; values only a provider could compute
(ARNs, generated passwords, ids) come back as marked placeholders.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components import program
from components.config import PROJECT, REDACTED, LoadedStage

#: Key the SDK uses to mark a serialized secret value.
SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270"
SIGNATURE_KEY = "4dabf18193072939515e22adb298388d"

#: Outputs that only a provider computes, per resource type prefix.
COMPUTED_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "aws:": ("arn", "id", "keyId", "bucket", "name", "accountId", "bucketDomainName", "url"),
    "random:": ("result", "id", "hex", "b64Std"),
}


def computed_placeholder(type_: str, name: str, attribute: str) -> str:
    return f"<computed:{type_.split(':')[-1]}/{name}.{attribute}>"


@dataclass
class DeclaredResource:
    """One resource the program registered."""

    type: str
    name: str
    parent_type: str
    custom: bool
    remote: bool
    inputs: dict[str, Any] = field(default_factory=dict)
    #: names of the resources this one waits for (explicit depends_on and input dependencies)
    depends_on: list[str] = field(default_factory=list)

    @property
    def is_kubernetes_object(self) -> bool:
        """A plain Kubernetes object (not a provider, Helm release or component)."""
        return (
            self.custom
            and self.type.startswith("kubernetes:")
            and not self.type.startswith("kubernetes:helm.sh/")
            and "apiVersion" in self.inputs
        )


@dataclass
class Synthesis:
    stage: str
    resources: list[DeclaredResource]
    outputs: dict[str, Any]

    def of_type(self, type_: str) -> list[DeclaredResource]:
        return [resource for resource in self.resources if resource.type == type_]

    def kubernetes_objects(self) -> list[dict[str, Any]]:
        return [resource.inputs for resource in self.resources if resource.is_kubernetes_object]


def _plain(value: Any) -> Any:
    """Mocked inputs as plain data: secrets redacted, integral floats back to ints."""
    if isinstance(value, dict):
        if value.get(SIGNATURE_KEY) == SECRET_SIGNATURE:
            inner = value.get("value")
            # a secret map (a Secret's stringData) keeps its keys visible, as a rendered Secret does
            return {key: REDACTED for key in inner} if isinstance(inner, dict) else REDACTED
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the mock engine turns every number into a float
    return value


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.inputs: dict[tuple[str, str], dict[str, Any]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.inputs[(args.typ, args.name)] = args.inputs
        state = dict(args.inputs)
        for prefix, attributes in COMPUTED_ATTRIBUTES.items():
            if args.typ.startswith(prefix):
                for attribute in attributes:
                    state.setdefault(attribute, computed_placeholder(args.typ, args.name, attribute))
        if args.typ == "pulumi:pulumi:StackReference":
            state.setdefault("outputs", {})
        return [f"{args.name}-id", state]

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": "<computed:accountId>", "arn": "<computed:callerArn>", "userId": "<computed:userId>"}
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": "<computed:region>", "region": "<computed:region>"}
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com"}
        raise NotImplementedError(f"offline synthesis cannot answer the invoke {args.token!r}")


class _RecordingMonitor(MockMonitor):
    def __init__(self, mocks: _Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[tuple[str, str, str, bool, bool, list[str]]] = []

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        parent_type = request.parent.split("::")[-2].split("$")[-1] if request.parent else ""
        dependencies = sorted({urn.split("::")[-1] for urn in request.dependencies})
        self.registrations.append((request.type, request.name, parent_type, request.custom, request.remote, dependencies))
        return super().RegisterResource(request)


async def _resolve_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    resolved: dict[str, Any] = {}
    for name, value in outputs.items():
        output = pulumi.Output.from_input(value)
        is_secret = await output.is_secret()
        resolved[name] = REDACTED if is_secret else _plain(await output.future())
    return resolved


#: Whether this process has run a Pulumi program (its runtime, event loop and gRPC state are then set up).
_ran_a_program = False


def ran_a_program() -> bool:
    """True once `synthesize` ran here: a fork of this process would copy that state half-done."""
    return _ran_a_program


def synthesize(stage: LoadedStage) -> Synthesis:
    """Run the program for one validated stage and return what it declared."""
    global _ran_a_program
    _ran_a_program = True
    mocks = _Mocks()
    monitor = _RecordingMonitor(mocks)
    # each synthesis starts from an empty runtime, as a fresh `pulumi up` would
    runtime_settings.ROOT.set(None)
    runtime_settings.SETTINGS.rpc_manager.clear()
    runtime_settings.SETTINGS.outputs.clear()
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stage.config.stage, preview=False, monitor=monitor)

    resolved: dict[str, Any] = {}

    async def _program() -> None:
        resolved.update(await _resolve_outputs(program.run(stage)))

    _sync_await(run_pulumi_func(lambda: asyncio.ensure_future(_program())))

    resources = [
        DeclaredResource(
            type=type_,
            name=name,
            parent_type=parent_type,
            custom=custom,
            remote=remote,
            inputs=_plain(mocks.inputs.get((type_, name), {})),
            depends_on=dependencies,
        )
        for type_, name, parent_type, custom, remote, dependencies in monitor.registrations
    ]
    return Synthesis(stage=stage.config.stage, resources=resources, outputs=resolved)
