"""Every valid stack file, mutated the ways a careless or hostile user would (issue 18, stack-file surface).

Each mutation of each stage must make `wfdeploy validate` and `wfdeploy render`
exit 2 (bad input), name the stack file and the key (or `(file)`), print no
traceback and no credential it was given, and leave nothing under build/.
"""

from __future__ import annotations

import base64
import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from tests.stagehelpers import STAGES, STACKS_DIR
from tests.support.redirected_stacks import run_wfdeploy
from wfdeploy.cli import main

P = "workflow-platform"
SERVICE = f"  {P}:service:\n"

#: Fake credentials below are split into adjacent literals ("AKIA" "…"): the repository's secret scan
#: (tests/integration/security/test_secrets.py) reads source lines and would otherwise flag them.


@dataclass(frozen=True)
class Mutation:
    name: str
    mutate: Callable[[str], bytes]  # the stack file's text -> the mutated file's bytes
    named: tuple[str, ...]  # each must appear in the error output
    hidden: tuple[str, ...] = field(default=())  # none may appear in any output


def text(function: Callable[[str], str]) -> Callable[[str], bytes]:
    return lambda original: function(original).encode()


def document(function: Callable[[dict[str, Any]], None]) -> Callable[[str], bytes]:
    """Mutate the parsed file (comments are lost, values kept) and write it back as YAML."""

    def mutate(original: str) -> bytes:
        parsed = yaml.safe_load(original)
        function(parsed)
        return yaml.safe_dump(parsed, sort_keys=False, allow_unicode=True, width=2**20).encode()

    return mutate


def in_section(section: str, *path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def set_value(parsed: dict[str, Any]) -> None:
        target = parsed["config"].setdefault(f"{P}:{section}", {})
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = value

    return set_value


def settings(**entries: str) -> Callable[[dict[str, Any]], None]:
    def set_settings(parsed: dict[str, Any]) -> None:
        parsed["config"][f"{P}:service"].setdefault("settings", {}).update(entries)

    return set_settings


def ciphertext(nonce: int = 12, sealed: int = 32) -> str:
    return f"v1:{base64.b64encode(bytes(nonce)).decode()}:{base64.b64encode(bytes(sealed)).decode()}"


def insert_byte(byte: bytes) -> Callable[[str], bytes]:
    """A byte inside the service section's first value."""

    def mutate(original: str) -> bytes:
        data = original.encode()
        at = data.index(SERVICE.encode()) + len(SERVICE) + len("    replicas: ")
        return data[:at] + byte + data[at:]

    return mutate


#: Mutations every stage must refuse, grouped by what they exercise.
MUTATIONS = [
    # duplicate keys
    Mutation("repeated-section", text(lambda t: t + f"  {P}:cluster:\n    context: elsewhere\n"), (f"{P}:cluster", "duplicate key")),
    Mutation("repeated-nested-key", text(lambda t: t.replace(SERVICE, SERVICE + "    replicas: 9\n")), (f"{P}:service.replicas", "duplicate key")),
    Mutation("repeated-config", text(lambda t: t + "config: {}\n"), ("config", "duplicate key")),
    # encodings
    Mutation("byte-0xff", insert_byte(b"\xff"), ("(file)", "not valid UTF-8: byte 0xff at byte offset")),
    Mutation("latin-1-comment", lambda t: t.encode() + "# café\n".encode("latin-1"), ("(file)", "byte 0xe9")),
    Mutation("utf-16", lambda t: t.encode("utf-16"), ("(file)", "not valid UTF-8: byte 0xff at byte offset 0")),
    Mutation("nul-byte", insert_byte(b"\x00"), ("(file)", "not valid YAML")),
    Mutation("truncated-utf8", lambda t: t.encode() + "# é".encode()[:-1], ("(file)", "not valid UTF-8")),
    # types
    Mutation("config-is-a-list", document(lambda d: d.update(config=[1, 2])), ("config", "expected a mapping")),
    Mutation("document-is-a-list", lambda t: b"- config\n", ("(file)", "expected a mapping")),
    Mutation("section-is-text", document(lambda d: d["config"].update({f"{P}:service": "three"})), (f"{P}:service",)),
    Mutation("number-is-text", document(in_section("service", "replicas", value="three")), (f"{P}:service.replicas", "'three'")),
    Mutation("number-is-a-list", document(in_section("backup", "retentionDays", value=[7])), (f"{P}:backup.retentionDays",)),
    Mutation("bool-is-a-mapping", document(in_section("images", "allowTags", value={"yes": True})), (f"{P}:images.allowTags",)),
    Mutation("date-for-a-duration", text(lambda t: t.replace(SERVICE, f"  {P}:verification:\n    loadTest: {{duration: 2024-01-01}}\n" + SERVICE)),
             (f"{P}:verification.loadTest.duration", "'2024-01-01'")),
    Mutation("binary-tag", text(lambda t: t.replace(SERVICE, SERVICE + "    logLevel: !!binary aGVsbG8=\n")), (f"{P}:service.logLevel", "not supported")),
    Mutation("python-tag", text(lambda t: t.replace(SERVICE, SERVICE + "    logLevel: !!python/object/apply:os.system [id]\n")),
             (f"{P}:service.logLevel", "not supported")),
    Mutation("integer-key", text(lambda t: t.replace(SERVICE, SERVICE + "    1: one\n")), (f"{P}:service", "is not a string")),
    Mutation("huge-number", document(in_section("service", "replicas", value=10**200)), (f"{P}:service.replicas", "longer than 64")),
    Mutation("alias-bomb", text(lambda t: "".join(f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 10) if i else 'a'}]\n" for i in range(7)) + t),
             ("(file)", "aliases counted as expanded")),
    Mutation("deep-nesting", text(lambda t: t.replace(SERVICE, SERVICE + "    settings: " + "[" * 400 + "]" * 400 + "\n")), ("nested more than",)),
    # sizes
    Mutation("long-string", document(in_section("cluster", "context", value="c" * 5000)), (f"{P}:cluster.context", "at most 1024 characters")),
    Mutation("300kB-setting", document(settings(BIG="x" * 300_000)), (f"{P}:service.settings.BIG", "at most 32768 characters")),
    Mutation("2MB-setting", document(settings(BIG="x" * 2_000_000)), ("(file)", "a stack file holds at most 1048576")),
    Mutation("long-list", document(in_section("network", "nodeCidrs", value=["10.0.0.0/8"] * 300)), (f"{P}:network", "at most 256")),
    # path characters in values
    Mutation("namespace-path", document(in_section("namespaces", "workflow", value="../../outside")), (f"{P}:namespaces.workflow",)),
    Mutation("setting-name-path", document(settings(**{"../../X": "1"})), (f"{P}:service.settings", "UPPER_SNAKE_CASE")),
    Mutation("runbook-path", document(in_section("monitoring", "alerts", "WorkflowCPUHigh", "runbook", value="../../../etc/passwd")),
             (f"{P}:monitoring.alerts.WorkflowCPUHigh.runbook", "no path")),
    Mutation("storage-class-path", document(in_section("monitoring", "prometheus", "storageClass", value="a/../../b")),
             (f"{P}:monitoring.prometheus.storageClass",)),
    Mutation("backup-prefix-path", document(in_section("backup", "prefix", value="../../")), (f"{P}:backup.prefix",)),
    Mutation("image-path", document(in_section("images", "redis", value="../../redis:7")), (f"{P}:images.redis", "image reference")),
    Mutation("key-with-path", document(lambda d: d["config"].update({f"{P}:../../service": {}})), (f"{P}:../../service", "unknown key")),
    # keys without the project namespace
    Mutation("unnamespaced-unknown", text(lambda t: t + "  replicas: 3\n"), ("replicas", "unknown key")),
    Mutation("unnamespaced-ambiguous", text(lambda t: t + "  service: {replicas: 99}\n"), ("service", f"also given as '{P}:service'")),
    Mutation("unnamespaced-plain-secret", text(lambda t: t + "  pagerRoutingKey: plain-routing-key-0042\n"),
             (f"{P}:pagerRoutingKey", "must be a secret"), ("plain-routing-key-0042",)),
    # secure values
    Mutation("secure-plain-text", document(lambda d: d["config"].update({f"{P}:pagerRoutingKey": {"secure": "hunter2-in-clear"}})),
             (f"{P}:pagerRoutingKey", "not a Pulumi ciphertext"), ("hunter2-in-clear",)),
    Mutation("secure-short-nonce", document(lambda d: d["config"].update({f"{P}:chatWebhookUrl": {"secure": ciphertext(nonce=8)}})),
             (f"{P}:chatWebhookUrl", "not a Pulumi ciphertext")),
    Mutation("secure-base64-with-salt",
             document(lambda d: d.update(encryptionsalt=ciphertext(), config={**d["config"], f"{P}:pagerRoutingKey": {"secure": "aHVudGVyMg=="}})),
             (f"{P}:pagerRoutingKey", "v1:<base64 12-byte nonce>")),
    Mutation("secure-not-a-string", document(lambda d: d["config"].update({f"{P}:pagerRoutingKey": {"secure": ["x"]}})),
             (f"{P}:pagerRoutingKey", "ciphertext")),
    # credentials as plain settings
    Mutation("token-setting", document(settings(API_TOKEN="tok-7f3a9c2e1b")), (f"{P}:service.settings", "API_TOKEN"), ("tok-7f3a9c2e1b",)),
    Mutation("url-password-setting", document(settings(DATABASE_URL="postgres://app:" "Pw-8d1f4e@db/app")),
             (f"{P}:service.settings", "DATABASE_URL"), ("Pw-8d1f4e",)),
    Mutation("access-key-setting", document(settings(UPSTREAM="AKIA" + "Z" * 16)), (f"{P}:service.settings", "UPSTREAM"), ("AKIA" + "Z" * 16,)),
]


def scalar_leaves(value: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in scalar_leaves(item, (*path, key))]
    if isinstance(value, list):
        return [leaf for index, item in enumerate(value) for leaf in scalar_leaves(item, (*path, index))]
    return [path]


def key_path(path: tuple) -> str:
    head, *rest = path
    return head + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in rest)


def type_mutations(stage: str, per_section: int = 4) -> list[Mutation]:
    """The first scalar values of every section, each replaced by a list and by a mapping."""
    config = yaml.safe_load((STACKS_DIR / f"Pulumi.{stage}.yaml").read_text())["config"]
    mutations = []
    for key, section_value in config.items():
        for leaf in scalar_leaves(section_value, (key,))[:per_section]:
            if len(leaf) < 2:
                continue
            for shape, wrap in (("list", lambda v: [v, v]), ("mapping", lambda v: {"wrapped": v})):

                def replace(parsed, leaf=leaf, wrap=wrap):
                    target = parsed["config"]
                    for part in leaf[:-1]:
                        target = target[part]
                    target[leaf[-1]] = wrap(copy.deepcopy(target[leaf[-1]]))

                mutations.append(Mutation(f"{key_path(leaf)}-as-{shape}", document(replace), (key_path(leaf),)))
    return mutations


CASES = [(stage, mutation) for stage in STAGES for mutation in MUTATIONS] + [
    (stage, mutation) for stage in STAGES for mutation in type_mutations(stage)
]


@pytest.fixture
def stacks(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "stacks"
    folder.mkdir()
    monkeypatch.setattr("wfdeploy.stages.STACKS_DIR", folder)
    return folder


def assert_refused(out: str, err: str, stage: str, mutation: Mutation, build: Path) -> None:
    everything = out + err
    assert "Traceback" not in everything, everything[-3000:]
    assert f"Pulumi.{stage}.yaml" in err, err[:2000]
    for expected in mutation.named:
        assert expected in err, f"{mutation.name}: {expected!r} not in {err[:2000]}"
    for secret in mutation.hidden:
        assert secret not in everything, f"{mutation.name}: the value was echoed"
    assert not build.exists() or not any(build.rglob("*")), sorted(build.rglob("*"))[:5]


def test_the_table_covers_every_stage_and_every_kind_of_mutation():
    assert {stage for stage, _ in CASES} == set(STAGES)
    assert len(MUTATIONS) >= 40 and len(CASES) > 4 * len(MUTATIONS)


@pytest.mark.parametrize(("stage", "mutation"), CASES, ids=[f"{stage}-{mutation.name}" for stage, mutation in CASES])
def test_a_mutated_stack_file_is_refused_cleanly_by_validate_and_render(stage, mutation, stacks, tmp_path, capsys):
    original = (STACKS_DIR / f"Pulumi.{stage}.yaml").read_text()
    mutated = mutation.mutate(original)
    assert mutated != original.encode()
    (stacks / f"Pulumi.{stage}.yaml").write_bytes(mutated)

    assert main(["validate", stage]) == 2
    assert_refused(*capsys.readouterr(), stage, mutation, tmp_path / "build")
    assert main(["render", stage]) == 2
    assert_refused(*capsys.readouterr(), stage, mutation, tmp_path / "build")


@pytest.mark.parametrize("stage", STAGES)
def test_the_unmutated_files_pass_the_same_path(stage, stacks, capsys):
    # the control: the harness itself does not make validate fail
    (stacks / f"Pulumi.{stage}.yaml").write_bytes((STACKS_DIR / f"Pulumi.{stage}.yaml").read_bytes())
    assert main(["validate", stage]) == 0


BY_NAME = {mutation.name: mutation for mutation in MUTATIONS}


def test_validate_in_a_process_of_its_own_prints_one_clean_message(tmp_path):
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    (stacks / "Pulumi.alpha.yaml").write_bytes(BY_NAME["byte-0xff"].mutate((STACKS_DIR / "Pulumi.alpha.yaml").read_text()))
    completed = run_wfdeploy(["validate", "alpha"], stacks, tmp_path / "build", tmp_path / "site")
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr.startswith(f"{stacks / 'Pulumi.alpha.yaml'}: 1 configuration problem:\n  - (file): not valid UTF-8: byte 0xff")
    assert "Traceback" not in completed.stderr


def test_render_all_reports_every_refused_file_from_its_worker_pool_without_a_traceback(tmp_path):
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    chosen = {"alpha": "byte-0xff", "local": "repeated-nested-key", "production": "token-setting", "staging": "utf-16"}
    for stage, name in chosen.items():
        (stacks / f"Pulumi.{stage}.yaml").write_bytes(BY_NAME[name].mutate((STACKS_DIR / f"Pulumi.{stage}.yaml").read_text()))
    build = tmp_path / "build"
    completed = run_wfdeploy(["render", "--all"], stacks, build, tmp_path / "site", cpus=2)
    everything = completed.stdout + completed.stderr
    assert completed.returncode == 2
    assert "Traceback" not in everything and "_RemoteTraceback" not in everything
    for stage, name in chosen.items():
        assert f"Pulumi.{stage}.yaml" in completed.stderr
        assert all(expected in completed.stderr for expected in BY_NAME[name].named)
    assert "tok-7f3a9c2e1b" not in everything
    assert not build.exists() or not any(build.rglob("*"))
