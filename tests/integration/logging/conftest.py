"""A recording Elasticsearch stand-in on 127.0.0.1 and a runner for the real setup job (as a subprocess)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from components.logging.retention import desired_state, SnapshotTarget
from tests.integration.logging.fake_elasticsearch import FakeElasticsearch
from tests.stagehelpers import PROJECT_ROOT, load_stage_with


@pytest.fixture
def elasticsearch(request) -> FakeElasticsearch:
    server = FakeElasticsearch()
    request.addfinalizer(server.stop)
    return server.start()


@pytest.fixture
def production_state(tmp_path) -> tuple[dict, Path]:
    """The production stage's real desired state, with a snapshot target, as the job's ConfigMap holds it."""
    config = load_stage_with("production").config.logging
    state = desired_state(config, SnapshotTarget(bucket="example-logs-test", region="eu-west-1"))
    path = tmp_path / "desired-state.json"
    path.write_text(json.dumps(state))
    return state, path


@pytest.fixture
def password_file(tmp_path) -> tuple[str, Path]:
    password = secrets.token_urlsafe(16)
    path = tmp_path / "elastic"
    path.write_text(password + "\n")
    return password, path


@dataclass
class JobRun:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_job():
    """Run `python -m components.logging.retention_job` with the given environment, as the Job's container does."""

    def run(*args: str, env: dict[str, str]) -> JobRun:
        environ = {key: value for key, value in os.environ.items() if not key.startswith(("ES_", "LOGGING_SETUP"))}
        environ.update({"ES_WAIT_SECONDS": "5", "ES_RETRY_SECONDS": "0.1", "ES_TIMEOUT_SECONDS": "5", **env})
        completed = subprocess.run(
            [sys.executable, "-m", "components.logging.retention_job", *args],
            cwd=PROJECT_ROOT,
            env=environ,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return JobRun(completed.returncode, completed.stdout, completed.stderr)

    return run
