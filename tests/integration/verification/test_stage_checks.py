"""The stage-level checks against real local processes, and their logic against tiny loopback servers."""

from __future__ import annotations

import datetime
import subprocess
import time

import pytest

from tests.support.ports import free_port
from tests.support.verify_http import TokenBucket, json_routes, serve
from tests.support.verify_sandbox import stop
from tests.support.verify_stack import ALERTMANAGER_BIN
from wfdeploy.verification import stage_checks
from wfdeploy.verification.stage_checks import CheckFailed

pytestmark = pytest.mark.integration


def test_health_check_passes_against_the_reference_service(verification_stack):
    figures = stage_checks.health_through_edge(verification_stack.url("service"))
    assert figures["statuses"] == {"/healthz": 200, "/readyz": 200}


def test_health_check_fails_naming_the_endpoint_that_is_not_200():
    with serve(json_routes({"/healthz": {"status": "ok"}})) as url, pytest.raises(CheckFailed, match="/readyz.: 404"):
        stage_checks.health_through_edge(url)


def test_rate_limit_check_passes_when_the_edge_answers_429_past_the_limit():
    with serve(TokenBucket(limit=40)) as url:
        figures = stage_checks.edge_rate_limits(url + "/healthz", limit=40, replicas=1, workers=8)
    assert figures["limited"] > 0 and figures["sent"] == 90


def test_rate_limit_check_fails_when_nothing_is_ever_limited():
    with serve(TokenBucket(limit=None)) as url, pytest.raises(CheckFailed, match="no 429 among 90 requests"):
        stage_checks.edge_rate_limits(url + "/healthz", limit=40, replicas=1, workers=8)


def test_rate_limit_check_fails_when_the_edge_refuses_well_below_the_limit():
    with serve(TokenBucket(limit=2)) as url, pytest.raises(CheckFailed, match="well before the limit"):
        stage_checks.edge_rate_limits(url + "/healthz", limit=40, replicas=1, workers=8)


def test_prometheus_sees_every_local_target_up_and_the_platform_rules(verification_stack):
    endpoints = verification_stack.endpoints()
    up = stage_checks.prometheus_targets_up(endpoints.prometheus_url, endpoints.expected_jobs, wait_seconds=20)
    rules = stage_checks.prometheus_rules_loaded(endpoints.prometheus_url, endpoints.expected_alerts)
    assert set(up["jobs"]) >= {"workflow-service", "prometheus", "alertmanager"}
    assert rules["alerting_rules"] >= len(endpoints.expected_alerts)


def test_prometheus_checks_fail_for_a_missing_job_and_an_unknown_rule(verification_stack):
    url = verification_stack.url("prometheus")
    with pytest.raises(CheckFailed, match="no targets for jobs .'workflow-worker'"):
        stage_checks.prometheus_targets_up(url, ("workflow-worker",))
    with pytest.raises(CheckFailed, match="not loaded: .'WorkflowQueueStuck'"):
        stage_checks.prometheus_rules_loaded(url, ("WorkflowLatencyHigh", "WorkflowQueueStuck"))


def test_alertmanager_single_replica_is_ready_but_not_a_three_peer_cluster(verification_stack):
    url = verification_stack.url("alertmanager")
    status = stage_checks.alertmanager_ready(url, min_peers=1)["cluster_status"]
    assert status in ("disabled", None, "ready", "settling")
    with pytest.raises(CheckFailed, match="expected ready with 3"):
        stage_checks.alertmanager_ready(url, min_peers=3)


def test_backup_check_reads_kube_state_metrics_series_through_prometheus(verification_stack, local_stage):
    url, namespace = verification_stack.url("prometheus"), local_stage.namespaces.data
    stage_checks.prometheus_targets_up(url, ("cronjob-fixture",), wait_seconds=20)

    backup = stage_checks.cronjob_succeeded_recently(url, namespace, "workflow-db-backup", 12 * 3600)
    assert backup["last_success_age_seconds"] >= 600
    stage_checks.cronjob_succeeded_recently(url, namespace, "workflow-db-restore-drill", 2 * 86400)
    with pytest.raises(CheckFailed, match="stale-backup: last success"):
        stage_checks.cronjob_succeeded_recently(url, namespace, "stale-backup", 12 * 3600)
    with pytest.raises(CheckFailed, match="failed-drill: the run scheduled after the last success did not succeed"):
        stage_checks.cronjob_succeeded_recently(url, namespace, "failed-drill", 2 * 86400)
    with pytest.raises(CheckFailed, match="no successful run recorded"):
        stage_checks.cronjob_succeeded_recently(url, namespace, "never-ran", 3600)


def _elasticsearch(status: str, newest_age_seconds: float | None) -> dict:
    now = datetime.datetime.now(datetime.timezone.utc)
    hits = [] if newest_age_seconds is None else [
        {"_source": {"@timestamp": (now - datetime.timedelta(seconds=newest_age_seconds)).isoformat()}}
    ]
    return {
        "/_cluster/health": {"status": status},
        "/filebeat-platform-containers/_search": {"hits": {"total": {"value": len(hits) * 42}, "hits": hits}},
    }


@pytest.mark.parametrize(
    ("status", "age", "problem"),
    [("yellow", 5, None), ("red", 5, "cluster health 'red'"), ("green", None, "no log documents"),
     ("green", 3600, "newest log of 'workflow' is 3600s old")],
)
def test_elasticsearch_check_wants_green_or_yellow_and_fresh_logs_of_the_service(status, age, problem):
    # Elasticsearch cannot run here: the check's logic is exercised against its API's answers
    query = ("filebeat-platform-containers", "kubernetes.namespace", "workflow")
    with serve(json_routes(_elasticsearch(status, age))) as url:
        if problem is None:
            assert stage_checks.elasticsearch_receiving_logs(url, *query)["documents_today"] == 42
        else:
            with pytest.raises(CheckFailed, match=problem):
                stage_checks.elasticsearch_receiving_logs(url, *query)


@pytest.fixture
def alertmanager_pair(tmp_path):
    """Two real Alertmanagers gossiping on loopback, as production's replicas do."""
    config = tmp_path / "alertmanager.yml"
    config.write_text('route:\n  receiver: "null"\nreceivers:\n  - name: "null"\n')
    web, gossip = [free_port(), free_port()], [free_port(), free_port()]
    processes = [
        subprocess.Popen(
            [str(ALERTMANAGER_BIN), f"--config.file={config}", f"--storage.path={tmp_path / f'data-{i}'}",
             f"--web.listen-address=127.0.0.1:{web[i]}", f"--cluster.listen-address=127.0.0.1:{gossip[i]}",
             f"--cluster.peer=127.0.0.1:{gossip[1 - i]}", "--cluster.gossip-interval=50ms",
             "--cluster.pushpull-interval=1s"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for i in (0, 1)
    ]
    try:
        yield f"http://127.0.0.1:{web[0]}"
    finally:
        for process in processes:
            stop(process)


def test_alertmanager_check_accepts_a_settled_two_replica_cluster(alertmanager_pair):
    deadline = time.monotonic() + 15
    while True:  # the web port opens a moment after start
        try:
            figures = stage_checks.alertmanager_ready(alertmanager_pair, min_peers=2, wait_seconds=15)
            break
        except CheckFailed:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    assert figures == {"cluster_status": "ready", "peers": 2}
    with pytest.raises(CheckFailed, match="with 2 peer.s., expected ready with 3"):
        stage_checks.alertmanager_ready(alertmanager_pair, min_peers=3)
