"""Stage-level verification through the stage's endpoints; a check without its endpoint does not apply."""

from __future__ import annotations

import pytest

from wfdeploy.verification import stage_checks


def _needs(value, what: str):
    if value is None:
        pytest.skip(f"not applicable: the inventory has no {what}")
    return value


def test_health_endpoints_answer_through_the_edge(endpoints):
    stage_checks.health_through_edge(_needs(endpoints.edge_url, "edge URL"), host=endpoints.edge_host)


def test_edge_answers_429_past_the_rate_limit(endpoints):
    stage_checks.edge_rate_limits(
        _needs(endpoints.edge_url, "edge URL").rstrip("/") + "/healthz",
        limit=_needs(endpoints.rate_limit_requests, "rate limit"),
        unit=endpoints.rate_limit_unit,
        replicas=endpoints.edge_replicas,
        host=endpoints.edge_host,
    )


def test_prometheus_has_every_target_up(endpoints):
    stage_checks.prometheus_targets_up(
        _needs(endpoints.prometheus_url, "Prometheus URL"), endpoints.expected_jobs, wait_seconds=30
    )


def test_prometheus_has_this_platforms_rules_loaded(endpoints):
    if not endpoints.expected_alerts:
        pytest.skip("not applicable: the inventory lists no alerts")
    stage_checks.prometheus_rules_loaded(_needs(endpoints.prometheus_url, "Prometheus URL"), endpoints.expected_alerts)


def test_alertmanager_is_ready_and_clustered_as_configured(endpoints):
    url = _needs(endpoints.alertmanager_url, "Alertmanager URL")
    stage_checks.alertmanager_ready(url, endpoints.alertmanager_peers, wait_seconds=30)


def test_elasticsearch_is_healthy_and_receiving_todays_logs(endpoints):
    stage_checks.elasticsearch_receiving_logs(
        _needs(endpoints.elasticsearch_url, "Elasticsearch URL"),
        endpoints.elasticsearch_index,
        endpoints.elasticsearch_filter_field,
        endpoints.elasticsearch_filter_value,
        endpoints.elasticsearch_user_env,
        endpoints.elasticsearch_password_env,
    )


@pytest.mark.parametrize("kind", ["backup", "restore_drill"])
def test_last_backup_and_restore_drill_succeeded(endpoints, kind):
    prometheus = _needs(endpoints.prometheus_url, "Prometheus URL")
    if kind == "backup":
        cronjob, max_age = endpoints.backup_cronjob, endpoints.backup_max_age_seconds
    else:
        cronjob, max_age = endpoints.restore_drill_cronjob, endpoints.restore_drill_max_age_seconds
    stage_checks.cronjob_succeeded_recently(
        prometheus, endpoints.backup_namespace, cronjob, _needs(max_age, f"{kind} age limit")
    )
