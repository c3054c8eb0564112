"""No secret in the repository (beyond the audited baseline) and no secret value in any rendered file."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from detect_secrets.core import baseline
from detect_secrets.core.secrets_collection import SecretsCollection
from detect_secrets.settings import default_settings, transient_settings

from components.config import OPERATOR_SECRETS, PROJECT, REDACTED, parse_stage
from tests.stagehelpers import PROJECT_ROOT, STAGES, stack_values
from wfdeploy.render.writer import render_stage

pytestmark = pytest.mark.integration

BASELINE = PROJECT_ROOT / ".secrets.baseline"
#: Detectors of secret *values*; keyword and entropy detectors fire on key names and image digests,
#: which rendered files are full of, and are left to the repository scan and its audited baseline.
VALUE_DETECTORS = [
    "AWSKeyDetector", "ArtifactoryDetector", "AzureStorageKeyDetector", "BasicAuthDetector", "CloudantDetector",
    "DiscordBotTokenDetector", "GitHubTokenDetector", "GitLabTokenDetector", "IbmCloudIamDetector", "IbmCosHmacDetector",
    "JwtTokenDetector", "MailchimpDetector", "NpmDetector", "OpenAIDetector", "PrivateKeyDetector", "PypiTokenDetector",
    "SendGridDetector", "SlackDetector", "SoftlayerDetector", "SquareOAuthDetector", "StripeDetector",
    "TelegramBotTokenDetector", "TwilioKeyDetector",
]


def repository_files() -> list[str]:
    """Tracked files plus untracked ones git does not ignore: what a commit could contain."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=True,
    ).stdout
    return sorted({name for name in listed.split("\0") if name and (PROJECT_ROOT / name).is_file()})


def describe(secrets: SecretsCollection) -> list[str]:
    return [f"{name}:{secret.line_number} {secret.type}" for name, secret in secrets]


def test_repository_holds_no_secret_outside_the_audited_baseline(monkeypatch):
    monkeypatch.chdir(PROJECT_ROOT)
    assert BASELINE.is_file(), "create it with: detect-secrets scan > .secrets.baseline, then audit it"
    with default_settings():
        known = baseline.load(baseline.load_from_file(str(BASELINE)), str(BASELINE.name))
        current = SecretsCollection()  # paths relative to the working directory, as in the baseline
        current.scan_files(*repository_files())
        unknown = current - known
    assert describe(unknown) == [], "new secrets: remove them, or audit and add them with `detect-secrets scan --baseline .secrets.baseline`"


def test_every_baseline_entry_was_audited_as_not_a_secret():
    document = baseline.load_from_file(str(BASELINE))
    unaudited = [
        f"{name}:{entry['line_number']} {entry['type']}"
        for name, entries in document["results"].items()
        for entry in entries
        if entry.get("is_secret") is not False
    ]
    assert unaudited == [], "audit them: detect-secrets audit .secrets.baseline"


def rendered_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


@pytest.mark.parametrize("stage", STAGES)
def test_rendered_files_hold_no_secret_value(stage, rendered):
    output = rendered[stage].output_dir
    with transient_settings({"plugins_used": [{"name": name} for name in VALUE_DETECTORS]}):
        found = SecretsCollection()
        found.scan_files(*(str(path) for path in rendered_files(output)))
    assert describe(found) == []
    for path in (output / "manifests").rglob("Secret.*.yaml"):
        text = path.read_text()
        assert "data:" not in text or REDACTED in text, f"{path.name} is not redacted"


def test_operator_secret_values_never_reach_a_rendered_file(tmp_path):
    values, secret_keys = stack_values("production")
    sentinels = {secret.key: f"sentinel-{secret.key}-5f3c9a1e" for secret in OPERATOR_SECRETS}
    values = {**values, **{f"{PROJECT}:{key}": f"https://hooks.example.com/{value}" for key, value in sentinels.items()}}
    stage = parse_stage(
        "production", values, secret_keys | {f"{PROJECT}:{key}" for key in sentinels}, source="test", offline=False
    )
    result = render_stage(stage, tmp_path, run_gates=False)
    leaks = [
        f"{path.relative_to(result.output_dir)} holds {key}"
        for path in rendered_files(result.output_dir)
        for key, sentinel in sentinels.items()
        if sentinel in path.read_text(errors="replace")
    ]
    assert leaks == []
    assert any(REDACTED in path.read_text() for path in (result.output_dir / "manifests").rglob("Secret.*.yaml"))
