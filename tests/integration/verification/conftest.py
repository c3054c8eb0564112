"""One local verification tier per session: the sandboxed service, Prometheus, Alertmanager, and PostgreSQL."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request

import pytest

from tests.stagehelpers import load_stage_with
from tests.support.postgres import PostgresServer
from tests.support.verify_http import serve, text_routes
from tests.support.verify_stack import LocalVerificationStack

#: CronJob states as kube-state-metrics reports them, relative to the session's start:
#: (seconds since last success, seconds since last schedule, active jobs).
CRONJOB_STATES = {
    "workflow-db-backup": (600, 600, 0),  # succeeded 10 minutes ago
    "workflow-db-restore-drill": (3 * 3600, 3 * 3600, 0),
    "stale-backup": (2 * 86400, 2 * 86400, 0),  # nothing for two days
    "failed-drill": (3600, 300, 0),  # scheduled after its last success and no longer running: failed
}


def cronjob_exposition(anchor: float, namespace: str) -> str:
    lines = []
    for cronjob, (success_age, schedule_age, active) in CRONJOB_STATES.items():
        labels = f'namespace="{namespace}",cronjob="{cronjob}"'
        lines += [
            f"kube_cronjob_status_last_successful_time{{{labels}}} {anchor - success_age:.0f}",
            f"kube_cronjob_status_last_schedule_time{{{labels}}} {anchor - schedule_age:.0f}",
            f"kube_cronjob_status_active{{{labels}}} {active}",
        ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def local_stage():
    return load_stage_with("local").config


@pytest.fixture(scope="session")
def cronjob_series(local_stage):
    """Series in kube-state-metrics' shape for the backup check's PromQL; Prometheus scrapes them for real."""
    anchor = time.time()
    with serve(text_routes({"/metrics": lambda: cronjob_exposition(anchor, local_stage.namespaces.data)})) as url:
        yield url


@pytest.fixture(scope="session")
def verification_stack(local_stage, cronjob_series):
    address = urllib.parse.urlsplit(cronjob_series).netloc
    stack = LocalVerificationStack(local_stage, extra_scrape_targets={"cronjob-fixture": address})
    try:
        yield stack.start()
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def postgres():
    server = PostgresServer()
    try:
        yield server.start()
    finally:
        server.stop()


def set_faults(service_url: str, **faults) -> dict:
    """Switch the reference service's faults at run time (POST /admin/faults)."""
    request = urllib.request.Request(
        service_url + "/admin/faults", data=json.dumps(faults).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())
