"""Careless and hostile stack files (issue 18, items 1, 2, 5–8): refused by file and key, before anything renders."""

from __future__ import annotations

import base64
import json

import pytest
import yaml

from components.config import ConfigError, Problem, parse_stage, read_stack_file
from components.config.loader import MAX_KEY_VALUE_LENGTH
from components.config.schema import MAX_SETTING_VALUE_LENGTH, MAX_SETTINGS_BYTES
from components.config.stack_yaml import MAX_DEPTH, MAX_STACK_FILE_BYTES, MAX_VALUES
from components.config.types import MAX_ITEMS, MAX_STRING_LENGTH
from tests.stagehelpers import PROJECT_ROOT, load_stage_with, passphrase_ciphertext, section, stack_values

P = "workflow-platform"

#: Fake credentials below are split into adjacent literals ("AKIA" "…"): the repository's secret scan
#: (tests/integration/security/test_secrets.py) reads source lines and would otherwise flag them.
ALPHA = (PROJECT_ROOT / "stacks" / "Pulumi.alpha.yaml").read_text()


def problems_in(tmp_path, content: str | bytes, stage: str = "alpha") -> dict[str, str]:
    """Write a stack file, read and parse it; the problems by key path (the test fails if it is accepted)."""
    path = tmp_path / f"Pulumi.{stage}.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ConfigError) as caught:
        values, secret_keys = read_stack_file(path)
        parse_stage(stage, values, secret_keys, source=str(path), offline=True)
    assert str(path) in str(caught.value)
    return {problem.path: problem.message for problem in caught.value.problems}


def loaded_from(tmp_path, content: str, stage: str = "alpha"):
    path = tmp_path / f"Pulumi.{stage}.yaml"
    path.write_text(content)
    values, secret_keys = read_stack_file(path)
    return parse_stage(stage, values, secret_keys, source=str(path), offline=True)


def with_service_lines(*lines: str) -> str:
    """alpha's stack file with lines added to the service section (indented as its keys)."""
    anchor = "  workflow-platform:service:\n"
    return ALPHA.replace(anchor, anchor + "".join(f"    {line}\n" for line in lines))


# -- item 1: duplicate keys ------------------------------------------------------------------------


def test_a_repeated_section_is_refused_with_both_lines(tmp_path):
    problems = problems_in(tmp_path, ALPHA + "  workflow-platform:cluster:\n    context: elsewhere\n")
    first = ALPHA.splitlines().index("  workflow-platform:cluster:") + 1
    last = len(ALPHA.splitlines()) + 1
    assert problems == {f"{P}:cluster": f"duplicate key (lines {first} and {last}); the Pulumi CLI refuses a stack file that repeats a key"}


def test_a_repeated_nested_key_is_refused_with_its_path(tmp_path):
    problems = problems_in(tmp_path, with_service_lines("replicas: 7"))
    assert list(problems) == [f"{P}:service.replicas"]
    assert "duplicate key (lines " in problems[f"{P}:service.replicas"]


def test_a_repeated_key_inside_a_list_item_is_refused_with_its_index(tmp_path):
    text = ALPHA.replace("        - {name: chat, type: slack}", "        - {name: chat, type: slack, name: pager}")
    problems = problems_in(tmp_path, text)
    assert "duplicate key" in problems[f"{P}:monitoring.alertmanager.receivers[0].name"]


def test_a_repeated_top_level_key_is_refused(tmp_path):
    problems = problems_in(tmp_path, ALPHA + "config: {}\n")
    assert "duplicate key" in problems["config"]


def test_the_same_key_in_two_sections_is_not_a_duplicate(tmp_path):
    # `replicas` appears under service, data.redis, …: only a repeat within one mapping counts
    assert loaded_from(tmp_path, ALPHA).config.service.replicas == 2


# -- item 2: encodings -------------------------------------------------------------------------------


def test_a_byte_that_is_not_utf8_is_named_with_its_offset_and_line(tmp_path):
    data = ALPHA.encode()
    offset = data.index(b"workflow-alpha")
    problems = problems_in(tmp_path, data[:offset] + b"\xff" + data[offset:])
    line = data[:offset].count(b"\n") + 1
    assert problems == {"(file)": f"not valid UTF-8: byte 0xff at byte offset {offset} (line {line})"}


def test_a_utf16_stack_file_is_refused_at_its_first_byte(tmp_path):
    problems = problems_in(tmp_path, ALPHA.encode("utf-16"))
    assert problems["(file)"].startswith("not valid UTF-8: byte 0xff at byte offset 0 (line 1)")


def test_a_configuration_error_crosses_a_process_boundary_intact():
    import pickle

    error = ConfigError("stacks/Pulumi.alpha.yaml", [Problem("(file)", "broken")])
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is ConfigError and copy.problems == error.problems and str(copy) == str(error)


# -- YAML the Pulumi CLI never hands a program ---------------------------------------------------------


def test_an_unquoted_date_is_read_as_the_text_written(tmp_path):
    problems = problems_in(tmp_path, ALPHA.replace("rpo: 12h", "rpo: 2024-01-01"))
    assert "duration" in problems[f"{P}:backup.rpo"] and "'2024-01-01'" in problems[f"{P}:backup.rpo"]


@pytest.mark.parametrize("value", ["!!binary aGVsbG8=", "!!set {a, b}", "!!python/name:os.system", "!custom x"])
def test_yaml_tags_beyond_plain_values_are_refused_with_the_key(tmp_path, value):
    problems = problems_in(tmp_path, ALPHA.replace("rpo: 12h", f"rpo: {value}"))
    assert "is not supported" in problems[f"{P}:backup.rpo"]


@pytest.mark.parametrize("key", ["1", "true", "null", "[a, b]"])
def test_a_key_that_is_not_a_string_is_refused(tmp_path, key):
    problems = problems_in(tmp_path, with_service_lines(f"{key}: 2" if not key.startswith("[") else f"? {key}\n    : 2"))
    assert "is not a string; quote it" in problems[f"{P}:service"]


def test_an_alias_bomb_is_refused_before_it_is_expanded(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    problems = problems_in(tmp_path, "\n".join(lines) + "\nconfig: {}\n")
    assert problems == {"(file)": f"holds more than {MAX_VALUES} values (aliases counted as expanded)"}


def test_an_alias_that_contains_itself_is_refused(tmp_path):
    problems = problems_in(tmp_path, "config: &loop {x: [*loop]}\n")
    assert "an alias refers to a value that contains it" in problems["x[0]"]


def test_shared_aliases_within_the_bound_are_accepted(tmp_path):
    text = ALPHA.replace("  workflow-platform:service:\n    replicas: 2\n", "  workflow-platform:service:\n    replicas: &two 2\n")
    text = text.replace("    maxReplicas: 4\n", "    maxReplicas: *two\n")
    assert loaded_from(tmp_path, text).config.service.max_replicas == 2


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5000])
def test_nesting_past_the_bound_is_refused(tmp_path, depth):
    problems = problems_in(tmp_path, "config:\n  k: " + "[" * depth + "]" * depth + "\n")
    assert any(f"nested more than {MAX_DEPTH} levels deep" in message for message in problems.values())


def test_a_number_too_long_to_be_configuration_is_refused(tmp_path):
    problems = problems_in(tmp_path, ALPHA.replace("retentionDays: 7", "retentionDays: " + "9" * 5000))
    assert "a number longer than 64 characters" in problems[f"{P}:backup.retentionDays"]


# -- item 5: sizes -----------------------------------------------------------------------------------


def test_a_stack_file_over_the_bound_is_refused_unread(tmp_path):
    padding = "#" * MAX_STACK_FILE_BYTES + "\n"
    problems = problems_in(tmp_path, padding + ALPHA)
    assert problems == {"(file)": f"{len((padding + ALPHA).encode())} bytes; a stack file holds at most {MAX_STACK_FILE_BYTES}"}


def test_a_stack_file_just_within_the_bound_is_read(tmp_path):
    padding = "#" * (MAX_STACK_FILE_BYTES - len(ALPHA.encode()) - 1) + "\n"
    assert loaded_from(tmp_path, padding + ALPHA).config.stage == "alpha"


def settings_problems(settings: dict[str, str]) -> dict[str, str]:
    service = section("alpha", "service") | {"settings": settings}
    with pytest.raises(ConfigError) as caught:
        load_stage_with("alpha", {f"{P}:service": service})
    return {problem.path: problem.message for problem in caught.value.problems}


def test_a_setting_value_over_its_bound_is_refused_naming_the_limit_not_the_value():
    problems = settings_problems({"BIG": "x" * (MAX_SETTING_VALUE_LENGTH + 1)})
    assert problems == {
        f"{P}:service.settings.BIG": f"String should have at most {MAX_SETTING_VALUE_LENGTH} characters "
        f"(got a string of {MAX_SETTING_VALUE_LENGTH + 1} characters)"
    }


def test_a_setting_value_at_its_bound_is_accepted():
    service = section("alpha", "service") | {"settings": {"BIG": "x" * MAX_SETTING_VALUE_LENGTH}}
    assert len(load_stage_with("alpha", {f"{P}:service": service}).config.service.settings["BIG"]) == MAX_SETTING_VALUE_LENGTH


def test_settings_together_over_their_bound_are_refused():
    # each value within its own bound, all of them past what one ConfigMap should carry
    count = MAX_SETTINGS_BYTES // MAX_SETTING_VALUE_LENGTH + 1
    problems = settings_problems({f"S{i}": "x" * MAX_SETTING_VALUE_LENGTH for i in range(count)})
    assert f"at most {MAX_SETTINGS_BYTES} (they share one ConfigMap)" in problems[f"{P}:service.settings"]


def test_settings_together_at_their_bound_are_accepted():
    names = [f"S{i}" for i in range(MAX_SETTINGS_BYTES // MAX_SETTING_VALUE_LENGTH)]
    last = MAX_SETTINGS_BYTES - sum(len(name) for name in names) - MAX_SETTING_VALUE_LENGTH * (len(names) - 1)
    settings = {name: "x" * MAX_SETTING_VALUE_LENGTH for name in names[:-1]} | {names[-1]: "x" * last}
    service = section("alpha", "service") | {"settings": settings}
    assert load_stage_with("alpha", {f"{P}:service": service}).config.service.settings == settings


def test_any_string_over_the_bound_is_refused_and_described_by_its_length():
    cluster = section("alpha", "cluster") | {"context": "c" * (MAX_STRING_LENGTH + 1)}
    with pytest.raises(ConfigError) as caught:
        load_stage_with("alpha", {f"{P}:cluster": cluster})
    message = {p.path: p.message for p in caught.value.problems}[f"{P}:cluster.context"]
    assert f"at most {MAX_STRING_LENGTH} characters" in message and "c" * 200 not in message


def test_a_string_at_the_bound_is_accepted():
    cluster = section("alpha", "cluster") | {"context": "c" * MAX_STRING_LENGTH}
    assert load_stage_with("alpha", {f"{P}:cluster": cluster}).config.cluster.context == "c" * MAX_STRING_LENGTH


def test_a_list_over_the_bound_is_refused_naming_the_key():
    network = section("alpha", "network") | {"nodeCidrs": ["10.0.0.0/16"] * (MAX_ITEMS + 1)}
    with pytest.raises(ConfigError) as caught:
        load_stage_with("alpha", {f"{P}:network": network})
    assert {p.path: p.message for p in caught.value.problems}[f"{P}:network"] == (
        f"nodeCidrs has {MAX_ITEMS + 1} entries; at most {MAX_ITEMS}"
    )


def test_a_list_at_the_bound_is_accepted():
    network = section("alpha", "network") | {"nodeCidrs": ["10.0.0.0/16"] * MAX_ITEMS}
    assert len(load_stage_with("alpha", {f"{P}:network": network}).config.network.node_cidrs) == MAX_ITEMS


def test_a_key_value_over_the_bound_is_refused_before_it_is_parsed():
    values, secret_keys = stack_values("alpha")
    huge = json.dumps({"settings": {"X": "y" * MAX_KEY_VALUE_LENGTH}})  # as the Pulumi engine would hand it over
    with pytest.raises(ConfigError) as caught:
        parse_stage("alpha", dict(values, **{f"{P}:service": huge}), secret_keys, source="engine")
    assert {p.path: p.message for p in caught.value.problems} == {
        f"{P}:service": f"{len(huge)} characters of configuration; one key holds at most {MAX_KEY_VALUE_LENGTH}"
    }


def test_validate_refuses_ten_megabytes_quickly(tmp_path):
    import time

    started = time.perf_counter()
    problems_in(tmp_path, with_service_lines("settings: {BIG: " + "x" * 10_000_000 + "}"))
    assert time.perf_counter() - started < 5  # refused on its size, never parsed (was: accepted)


# -- path characters in values ---------------------------------------------------------------------


def test_a_runbook_name_is_never_a_path(tmp_path):
    text = ALPHA.replace("WorkflowLatencyHigh: {averageSeconds: 2}", "WorkflowLatencyHigh: {averageSeconds: 2, runbook: ../../../etc/passwd}")
    problems = problems_in(tmp_path, text)
    assert "no path" in problems[f"{P}:monitoring.alerts.WorkflowLatencyHigh.runbook"]


@pytest.mark.parametrize("key", ["data.postgres.storageClass", "data.redis.storageClass", "monitoring.prometheus.storageClass"])
def test_a_storage_class_is_a_kubernetes_name(key):
    section_name, *inner = key.split(".")
    value = section("alpha", section_name)
    target = value
    for part in inner[:-1]:
        target = target.setdefault(part, {})
    target[inner[-1]] = "../../x"
    with pytest.raises(ConfigError) as caught:
        load_stage_with("alpha", {f"{P}:{section_name}": value})
    assert "DNS subdomain" in {p.path: p.message for p in caught.value.problems}[f"{P}:{key}"]


# -- item 6: keys without the project namespace --------------------------------------------------------


def test_an_unknown_key_without_a_namespace_is_refused_by_its_written_name(tmp_path):
    problems = problems_in(tmp_path, ALPHA + "  replicas: 3\n")
    assert list(problems) == ["replicas"]
    assert f"Pulumi reads a key without a namespace as '{P}:replicas'" in problems["replicas"]


def test_a_known_key_given_with_and_without_the_namespace_is_ambiguous(tmp_path):
    problems = problems_in(tmp_path, ALPHA + "  service: {replicas: 99}\n")
    assert problems == {
        "service": f"also given as '{P}:service': Pulumi reads a key without a namespace as the project's own, "
        "so both name one key; keep one"
    }


def test_a_known_key_without_the_namespace_is_the_projects_own_and_used(tmp_path):
    text = ALPHA.replace("  workflow-platform:service:\n    replicas: 2\n", "  service:\n    replicas: 3\n")
    assert loaded_from(tmp_path, text).config.service.replicas == 3


def test_a_key_without_the_namespace_is_validated_like_the_namespaced_one(tmp_path):
    text = ALPHA.replace("  workflow-platform:service:\n    replicas: 2\n", "  service:\n    replicas: -3\n")
    assert "greater than or equal to 1" in problems_in(tmp_path, text)[f"{P}:service.replicas"]


def test_a_secret_key_without_the_namespace_must_still_be_secure(tmp_path):
    problems = problems_in(tmp_path, ALPHA + "  pagerRoutingKey: R0UTING-KEY-IN-PLAIN-TEXT\n")
    assert "must be a secret" in problems[f"{P}:pagerRoutingKey"]
    assert "R0UTING-KEY-IN-PLAIN-TEXT" not in json.dumps(problems)


# -- item 7: the form of secure values -------------------------------------------------------------------


def secure(value) -> str:
    return ALPHA + f"  workflow-platform:pagerRoutingKey: {{secure: {json.dumps(value)}}}\n"


def with_provider(text: str) -> str:
    # what `pulumi stack init --secrets-provider awskms://…` adds: a provider, then the data key it encrypted
    return text + "secretsprovider: awskms://alias/workflow-platform-alpha?region=eu-west-1\nencryptedkey: AQICAHg=\n"


@pytest.mark.parametrize(
    "value",
    [
        "hunter2",
        "",
        "v1:AAAAencrypted",
        "v1:" + base64.b64encode(bytes(11)).decode() + ":" + base64.b64encode(bytes(32)).decode(),  # nonce too short
        "v1:" + base64.b64encode(bytes(12)).decode() + ":" + base64.b64encode(bytes(15)).decode(),  # no room for the tag
        "v1:" + base64.b64encode(bytes(12)).decode() + ":not base64!",
        "v2:" + base64.b64encode(bytes(12)).decode() + ":" + base64.b64encode(bytes(32)).decode(),
        12345,
    ],
)
def test_a_secure_value_that_is_no_ciphertext_is_refused_without_echoing_it(tmp_path, value):
    problems = problems_in(tmp_path, with_provider(secure(value)))
    assert "ciphertext" in problems[f"{P}:pagerRoutingKey"]
    if value:
        assert str(value) not in json.dumps(problems)


def test_a_passphrase_or_kms_ciphertext_is_accepted(tmp_path):
    loaded = loaded_from(tmp_path, with_provider(secure(passphrase_ciphertext(sealed_bytes=16))))
    assert loaded.secrets.get("pagerRoutingKey") == "<redacted>"


def test_with_a_data_key_the_plain_base64_form_is_refused(tmp_path):
    # under a passphrase or KMS provider every value is 'v1:…'; bare base64 is someone's typing
    problems = problems_in(tmp_path, with_provider(secure(base64.b64encode(b"not encrypted at all").decode())))
    assert "v1:<base64 12-byte nonce>" in problems[f"{P}:pagerRoutingKey"]


def test_under_pulumi_cloud_base64_is_the_form(tmp_path):
    assert loaded_from(tmp_path, secure(base64.b64encode(bytes(48)).decode())).secrets.redacted
    problems = problems_in(tmp_path, secure("hunter2!"))
    assert "base64" in problems[f"{P}:pagerRoutingKey"]


# -- item 8: credentials as plain settings -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("API_TOKEN", "tok-1234567890"),
        ("DB_PASSWORD", "correct-horse"),
        ("CLIENT_SECRET", "s-1234567890"),
        ("UPSTREAM_API_KEY", "k-1234567890"),
        ("DATABASE_URL", "postgres://app:" "Sup3rS3cret@db:5432/app"),
        ("SIGNING", "-----BEGIN RSA " "PRIVATE KEY-----\nMIIB\n-----END RSA " "PRIVATE KEY-----"),
        ("UPSTREAM", "AKIA" "IOSFODNN7EXAMPL3"),
        ("PLACEHOLDER", "<redacted>"),
    ],
)
def test_a_setting_that_looks_like_a_credential_is_refused_by_name_never_by_value(name, value):
    problems = settings_problems({name: value, "FEATURE_FLAGS": "a,b"})
    message = problems[f"{P}:service.settings"]
    assert f"settings ['{name}'] look like credentials" in message
    assert value not in json.dumps(problems)


@pytest.mark.parametrize(
    ("name", "value"),
    [("TOKEN_FILE", "/var/run/secrets/token"), ("DATABASE_URL", "postgres://db:5432/app"), ("CACHE_TTL", "30")],
)
def test_a_setting_that_points_at_a_credential_is_accepted(name, value):
    service = section("alpha", "service") | {"settings": {name: value}}
    assert load_stage_with("alpha", {f"{P}:service": service}).config.service.settings == {name: value}


def test_a_credential_setting_in_the_stack_file_never_reaches_the_build_folder(tmp_path, monkeypatch, capsys):
    from wfdeploy.cli import main

    stacks = tmp_path / "stacks"
    stacks.mkdir()
    (stacks / "Pulumi.alpha.yaml").write_text(with_service_lines("settings: {API_TOKEN: tok-9f8e7d6c5b4a}"))
    monkeypatch.setattr("wfdeploy.stages.STACKS_DIR", stacks)
    assert main(["render", "alpha"]) != 0
    out, err = capsys.readouterr()
    assert f"{P}:service.settings" in err and "tok-9f8e7d6c5b4a" not in out + err
    build = tmp_path / "build"
    assert not build.exists() or not any(build.rglob("*"))


def test_a_value_that_fails_another_check_is_not_echoed_when_it_looks_like_a_credential():
    aws = section("alpha", "aws") | {"region": "postgres://app:Sup3rS3cret@db/app"}
    with pytest.raises(ConfigError) as caught:
        load_stage_with("alpha", {f"{P}:aws": aws})
    assert f"{P}:aws.region" in str(caught.value) and "Sup3rS3cret" not in str(caught.value)


def test_the_schema_and_the_policy_pack_share_one_detection():
    from components.config import credentials
    from policies.workflow_policies import rules

    assert rules.looks_secret is credentials.looks_secret


def test_every_stack_file_in_the_repository_stays_within_the_bounds():
    for stage in ("local", "alpha", "staging", "production"):
        path = PROJECT_ROOT / "stacks" / f"Pulumi.{stage}.yaml"
        assert yaml.safe_load(path.read_text()) and load_stage_with(stage).config.stage == stage


def test_a_merge_key_is_read_as_the_pulumi_cli_reads_it(tmp_path):
    # `<<: *anchor` copies a mapping; a key written beside it overrides the merged one, which is no repeat
    text = ALPHA.replace("    resources:\n      cpuRequest: 250m\n", "    resources: &service-resources\n      cpuRequest: 250m\n", 1)
    text = text.replace(
        "      resources: {cpuRequest: 100m, memoryRequest: 128Mi, cpuLimit: 500m, memoryLimit: 256Mi}",
        "      resources: {<<: *service-resources, memoryLimit: 256Mi}",
    )
    loaded = loaded_from(tmp_path, text)
    assert loaded.config.logging.shipper.resources.cpu_request == "250m"
    assert loaded.config.logging.shipper.resources.memory_limit == "256Mi"
