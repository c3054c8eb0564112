"""The credential detection shared by the schema and the policy pack: linear time, same findings (issue 18, item 5)."""

from __future__ import annotations

import random
import re
import time

import pytest

from components.config.credentials import SECRET_VALUE_PATTERNS, holds_a_secret, looks_secret, names_a_secret

#: Fake credentials below are split into adjacent literals ("AKIA" "…"): the repository's secret scan
#: (tests/integration/security/test_secrets.py) reads source lines and would otherwise flag them.

URL_WITH_CREDENTIALS = SECRET_VALUE_PATTERNS[2]
#: The pack's pattern before issue 18: right answers, quadratic time (5 s on 50 000 letters). The reference.
QUADRATIC_URL_PATTERN = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@$]+@")

#: Inputs built against each pattern's weak spot: long runs that almost match, many near-starts.
ADVERSARIAL = {
    "letters": lambda n: "a" * n,
    "scheme-runs": lambda n: ("a" * 99 + "://") * (n // 102),
    "user-without-at": lambda n: "a://b:" + "c" * n,
    "many-schemes": lambda n: "a://b:c" * (n // 7),
    "blank-lines": lambda n: "\n" * n,
    "requirepass-spaces": lambda n: "requirepass" + " " * n,
    "password-spaces": lambda n: "password:" + " " * n,
    "private-key-header": lambda n: "-----BEGIN " + "A" * n,
    "access-key-prefixes": lambda n: "AKIA" * (n // 4),
    "mixed": lambda n: "x-y.z+1 :/@$\n" * (n // 13),
}


@pytest.mark.parametrize("shape", sorted(ADVERSARIAL))
def test_every_pattern_runs_in_linear_time_up_to_ten_megabytes(shape):
    # ascending sizes: a quadratic pattern fails at 100 kB (about 20 s) instead of hanging at 10 MB;
    # each bound is many times what a linear scan needs even on a loaded machine
    for size, seconds in ((100_000, 0.5), (1_000_000, 1.0), (10_000_000, 10.0)):
        value = ADVERSARIAL[shape](size)
        started = time.perf_counter()
        looks_secret("SETTING", value)
        names_a_secret(value)
        elapsed = time.perf_counter() - started
        assert elapsed < seconds, f"{shape}: {len(value)} characters took {elapsed:.2f}s"


def test_the_url_pattern_finds_exactly_what_the_quadratic_one_found():
    alphabet = list("aZ1+.-:/@$ \tx\n") + ["://", "http", "u:p@"]
    generator = random.Random(18)
    for _ in range(30_000):
        value = "".join(generator.choice(alphabet) for _ in range(generator.randint(0, 12)))
        assert bool(URL_WITH_CREDENTIALS.search(value)) == bool(QUADRATIC_URL_PATTERN.search(value)), repr(value)


@pytest.mark.parametrize(
    ("value", "found"),
    [
        ("postgres://app:" "pw@db:5432/app", True),
        ("redis+sentinel://u:p@host", True),
        ("x1.y-z://u:p@h", True),  # scheme with digits, '.', '-', '+'
        ("1a://u:p@h", True),  # the run '1a' holds a letter: 'a://…' matches
        ("see(https://u:p@h)", True),
        ("https://u:p@h https://v:q@i", True),
        ("123://u:p@h", False),  # no letter in the scheme
        ("HTTPS://u:p@h", False),  # upper-case schemes were never matched
        ("://u:p@h", False),
        ("https://user@host", False),  # no password
        ("https://:pw@host", False),  # no user
        ("https://user:@host", False),  # empty password
        ("https://u:$PASSWORD@host", False),  # a variable reference, not a value
        ("https://u:p/x@host", False),  # '@' only after the path began
        ("https://u:p w@host", False),
        ("https://u\n:p@host", False),
        ("https://db:5432/app", False),
    ],
)
def test_url_credentials_at_the_pattern_boundary(value, found):
    assert bool(URL_WITH_CREDENTIALS.search(value)) is found
    assert bool(QUADRATIC_URL_PATTERN.search(value)) is found


@pytest.mark.parametrize(
    ("value", "found"),
    [
        ("requirepass s3cret", True),
        ("  masterauth\ts3cret", True),
        ("bind 0.0.0.0\nrequirepass s3cret\n", True),
        ("REQUIREPASS s3cret", True),
        ("requirepass $REDIS_PASSWORD", False),
        ('requirepass "$REDIS_PASSWORD"', False),
        ("# requirepass s3cret", False),
        ("\n\n\n\nrequirepass", False),
        # the value must be on the directive's own line: a newline ends the directive
        ("requirepass\ns3cret", False),
        ("\n\n  \n\trequirepass s3cret", True),
    ],
)
def test_redis_password_directives_at_the_pattern_boundary(value, found):
    assert holds_a_secret(value) is found


@pytest.mark.parametrize(
    ("value", "found"),
    [
        ("password=hunter2", True),
        ("Password : hunter2", True),
        ("password:\n  hunter2", True),
        ("password=", False),
        ("password=   ", False),
        ("password=$DB_PASSWORD", False),
        ("password={{ .Values.pw }}", False),
        ("password=<from secret>", False),
        ("password=" "'quoted'", False),
        ("passwords are rotated", False),
        ("mypassword=x", False),  # no word boundary before 'password'
    ],
)
def test_password_assignments_at_the_pattern_boundary(value, found):
    assert holds_a_secret(value) is found


@pytest.mark.parametrize(
    ("value", "found"),
    [
        ("AKIA" "IOSFODNN7EXAMPL3", True),
        ("ASIA" "IOSFODNN7EXAMPL3", True),
        ("AKIA" "IOSFODNN7EXAMPL", False),  # 15 after the prefix
        ("AKIA" "IOSFODNN7EXAMPL33", False),  # 17: not a whole word
        ("xAKIA" "IOSFODNN7EXAMPL3", False),
        ("-----BEGIN " "PRIVATE KEY-----", True),
        ("-----BEGIN OPENSSH " "PRIVATE KEY-----", True),
        ("-----BEGIN PUBLIC KEY-----", False),
        ("-----BEGIN CERTIFICATE-----", False),
        ("<redacted>", True),
        ("[secret]", True),
        ("", False),
    ],
)
def test_key_material_and_placeholders_at_the_pattern_boundary(value, found):
    assert looks_secret("VALUE", value) is found


@pytest.mark.parametrize(
    ("name", "found"),
    [
        ("DB_PASSWORD", True),
        ("dbPasswd", True),
        ("API_TOKEN", True),
        ("apiKey", True),
        ("AWS_ACCESS_KEY", True),
        ("CLIENT_SECRET", True),
        ("TOKEN_FILE", False),
        ("PASSWORD_PATH", False),
        ("SECRET_NAME", False),
        ("KMS_KEY_ID", False),
        ("TOKEN_TTL", False),
        ("CACHE_KEY_PREFIX", False),
        ("LOG_LEVEL", False),
    ],
)
def test_secret_names_at_the_pattern_boundary(name, found):
    assert names_a_secret(name) is found
    assert looks_secret(name, "value") is found


def test_the_policy_gate_checks_a_ten_megabyte_configmap_value_quickly():
    from types import SimpleNamespace

    from policies.workflow_policies.rules import plaintext_secret_problems

    value = "a" * 5_000_000 + "a://b:c" * 700_000
    args = SimpleNamespace(
        resource_type="kubernetes:core/v1:ConfigMap",
        urn="urn:pulumi:alpha::workflow-platform::kubernetes:core/v1:ConfigMap::settings",
        props={"metadata": {"name": "settings", "namespace": "workflow"}, "data": {"BIG": value, "URL": "https://u:p@h"}},
    )
    started = time.perf_counter()
    problems = plaintext_secret_problems(args)
    assert time.perf_counter() - started < 10  # the quadratic pattern did not finish in 15 minutes
    assert problems == ["ConfigMap workflow/settings key 'URL' holds a secret value; use a Secret"]


def test_the_policy_image_check_is_linear_in_a_long_reference():
    from policies.workflow_policies.rules import image_problems

    image = ("a" * 127 + ":") * 80_000  # every ':' opens a tag of the longest allowed length
    started = time.perf_counter()
    problems = image_problems("Pod x", {"containers": [{"name": "c", "image": image}]}, require_digest=True)
    assert time.perf_counter() - started < 10
    assert problems and "must be pinned by digest" in problems[-1]
