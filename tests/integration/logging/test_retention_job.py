"""The logging setup job against a recording Elasticsearch API on loopback: exact calls, idempotence, clear failures."""

from __future__ import annotations

import base64
import json
import ssl
import subprocess

import pytest

from tests.integration.logging.fake_elasticsearch import FakeElasticsearch

HEALTH = ("GET", "/_cluster/health?wait_for_status=yellow&timeout=30s")
ILM = "/_ilm/policy/platform-logs-retention"
TEMPLATE = "/_index_template/platform-logs"
REPOSITORY = "/_snapshot/backup-store"
SLM = "/_slm/policy/platform-logs-snapshots"
OBJECTS = (ILM, TEMPLATE, REPOSITORY, SLM)


def _env(elasticsearch: FakeElasticsearch, state_path, password_path=None, **extra: str) -> dict[str, str]:
    env = {"ES_URL": elasticsearch.url, "LOGGING_SETUP_STATE": str(state_path), **extra}
    if password_path is not None:
        env["ES_PASSWORD_FILE"] = str(password_path)
    return env


def test_first_run_creates_policy_template_repository_and_slm_in_order(elasticsearch, production_state, password_file, run_job):
    state, state_path = production_state
    password, password_path = password_file

    result = run_job(env=_env(elasticsearch, state_path, password_path))

    assert result.code == 0, result.stderr
    expected = [HEALTH]
    for path in OBJECTS:
        expected += [("GET", path), ("PUT", path)]
    assert elasticsearch.calls() == expected
    bodies = {request.path: request.body for request in elasticsearch.requests if request.method == "PUT"}
    assert bodies[ILM] == state["ilmPolicies"]["platform-logs-retention"]
    assert bodies[ILM]["policy"]["phases"]["delete"]["min_age"] == "30d"
    assert bodies[TEMPLATE] == state["indexTemplates"]["platform-logs"]
    assert bodies[TEMPLATE]["template"]["settings"]["index"]["lifecycle"]["name"] == "platform-logs-retention"
    assert bodies[REPOSITORY] == {
        "type": "s3",
        "settings": {"bucket": "example-logs-test", "base_path": "elasticsearch", "client": "default"},
    }
    assert bodies[SLM]["repository"] == "backup-store"
    assert bodies[SLM]["schedule"] == "0 30 1 * * ?"


def test_every_call_carries_basic_credentials_from_the_password_file_and_never_prints_them(
    elasticsearch, production_state, password_file, run_job
):
    password, password_path = password_file
    _, state_path = production_state

    result = run_job(env=_env(elasticsearch, state_path, password_path, ES_USERNAME="logging-setup"))

    assert result.code == 0, result.stderr
    expected = "Basic " + base64.b64encode(f"logging-setup:{password}".encode()).decode()
    assert {request.authorization for request in elasticsearch.requests} == {expected}
    assert password not in result.stdout + result.stderr


def test_second_run_only_reads_when_nothing_changed(elasticsearch, production_state, password_file, run_job):
    _, state_path = production_state
    env = _env(elasticsearch, state_path, password_file[1])
    assert run_job(env=env).code == 0
    elasticsearch.requests.clear()

    result = run_job(env=env)

    assert result.code == 0, result.stderr
    assert elasticsearch.calls() == [HEALTH] + [("GET", path) for path in OBJECTS]
    assert "converged (0 change(s))" in result.stdout


def test_a_drifted_policy_is_put_back_and_nothing_else_is_written(elasticsearch, production_state, password_file, run_job):
    state, state_path = production_state
    env = _env(elasticsearch, state_path, password_file[1])
    assert run_job(env=env).code == 0
    # someone shortened retention by hand in Kibana
    elasticsearch.ilm["platform-logs-retention"]["body"]["policy"]["phases"]["delete"]["min_age"] = "1d"
    elasticsearch.requests.clear()

    result = run_job(env=env)

    assert result.code == 0, result.stderr
    assert [call for call in elasticsearch.calls() if call[0] == "PUT"] == [("PUT", ILM)]
    assert elasticsearch.ilm["platform-logs-retention"]["body"] == state["ilmPolicies"]["platform-logs-retention"]
    assert "ILM policy platform-logs-retention: updated" in result.stdout


def test_check_mode_reports_drift_with_exit_3_and_writes_nothing(elasticsearch, production_state, password_file, run_job):
    _, state_path = production_state

    result = run_job("--check", env=_env(elasticsearch, state_path, password_file[1]))

    assert result.code == 3
    assert [call for call in elasticsearch.calls() if call[0] != "GET"] == []
    assert "4 object(s) differ" in result.stderr


def test_stage_without_snapshot_store_sends_no_snapshot_calls(elasticsearch, tmp_path, password_file, run_job):
    from components.logging.retention import desired_state
    from tests.stagehelpers import load_stage_with

    state_path = tmp_path / "state.json"
    state_path.write_text(json.dumps(desired_state(load_stage_with("local").config.logging, None)))

    result = run_job(env=_env(elasticsearch, state_path, password_file[1]))

    assert result.code == 0, result.stderr
    assert elasticsearch.calls() == [HEALTH, ("GET", ILM), ("PUT", ILM), ("GET", TEMPLATE), ("PUT", TEMPLATE)]
    assert elasticsearch.ilm["platform-logs-retention"]["body"]["policy"]["phases"]["delete"]["min_age"] == "3d"


def test_an_error_answer_to_a_put_fails_naming_the_call_and_stops(elasticsearch, production_state, password_file, run_job):
    _, state_path = production_state
    elasticsearch.failures[("PUT", TEMPLATE)] = (
        400,
        {"error": {"type": "illegal_argument_exception", "reason": "unknown setting [index.bogus]"}, "status": 400},
    )

    result = run_job(env=_env(elasticsearch, state_path, password_file[1]))

    assert result.code == 1
    assert f"PUT {TEMPLATE} answered 400" in result.stderr
    assert "unknown setting [index.bogus]" in result.stderr
    assert ("GET", REPOSITORY) not in elasticsearch.calls()  # nothing after the failed call


def test_an_error_answer_to_a_get_fails_naming_the_call(elasticsearch, production_state, password_file, run_job):
    _, state_path = production_state
    elasticsearch.failures[("GET", ILM)] = (500, {"error": "boom"})

    result = run_job(env=_env(elasticsearch, state_path, password_file[1]))

    assert result.code == 1
    assert f"GET {ILM} answered 500" in result.stderr
    assert ("PUT", ILM) not in elasticsearch.calls()


def test_rejected_credentials_fail_at_once_without_waiting(elasticsearch, production_state, password_file, run_job):
    _, state_path = production_state
    elasticsearch.failures[HEALTH] = (401, {"error": {"type": "security_exception", "reason": "unable to authenticate"}})

    result = run_job(env=_env(elasticsearch, state_path, password_file[1], ES_WAIT_SECONDS="60"))

    assert result.code == 1
    assert "GET /_cluster/health?wait_for_status=yellow&timeout=30s answered 401" in result.stderr
    assert elasticsearch.calls() == [HEALTH]


def test_waits_for_a_red_cluster_then_gives_up_naming_the_health_call(elasticsearch, production_state, password_file, run_job):
    _, state_path = production_state
    elasticsearch.failures[HEALTH] = (408, {"status": "red", "timed_out": True})

    result = run_job(env=_env(elasticsearch, state_path, password_file[1], ES_WAIT_SECONDS="0.5"))

    assert result.code == 1
    assert "cluster not available after" in result.stderr and "answered 408" in result.stderr
    assert len(elasticsearch.calls()) >= 2 and set(elasticsearch.calls()) == {HEALTH}


def test_unreachable_cluster_fails_clearly(production_state, password_file, run_job):
    server = FakeElasticsearch().start()
    url = server.url
    server.stop()  # the port is now closed

    result = run_job(env={"ES_URL": url, "LOGGING_SETUP_STATE": str(production_state[1]), "ES_WAIT_SECONDS": "0.3"})

    assert result.code == 1
    assert "cluster not available" in result.stderr and "GET /_cluster/health" in result.stderr


def test_missing_state_or_url_is_a_usage_error(production_state, run_job):
    assert run_job(env={"ES_URL": "http://127.0.0.1:9"}).code == 2
    result = run_job(env={"ES_URL": "ftp://nowhere", "LOGGING_SETUP_STATE": str(production_state[1])})
    assert result.code == 2 and "ES_URL must be an http(s) URL" in result.stderr


# -- TLS: the job verifies the cluster's certificate against the CA file ----------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "tls.key", folder / "tls.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return key, cert


@pytest.fixture
def tls_elasticsearch(request, certificate) -> FakeElasticsearch:
    key, cert = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = FakeElasticsearch()
    request.addfinalizer(server.stop)
    return server.start(ssl_context=context)


def test_https_with_the_cluster_ca_succeeds(tls_elasticsearch, certificate, production_state, password_file, run_job):
    result = run_job(env=_env(tls_elasticsearch, production_state[1], password_file[1], ES_CA_FILE=str(certificate[1])))

    assert result.code == 0, result.stderr
    assert tls_elasticsearch.url.startswith("https://")
    assert ("PUT", SLM) in tls_elasticsearch.calls()


def test_https_without_a_ca_file_is_refused(tls_elasticsearch, production_state, password_file, run_job):
    result = run_job(env=_env(tls_elasticsearch, production_state[1], password_file[1]))

    assert result.code == 2
    assert "ES_CA_FILE is required" in result.stderr
    assert tls_elasticsearch.calls() == []


def test_https_with_a_foreign_ca_fails_certificate_verification(tls_elasticsearch, tmp_path, production_state, password_file, run_job):
    other_key, other_cert = tmp_path / "o.key", tmp_path / "o.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=other",
         "-keyout", str(other_key), "-out", str(other_cert)],
        check=True, capture_output=True,
    )
    result = run_job(
        env=_env(tls_elasticsearch, production_state[1], password_file[1], ES_CA_FILE=str(other_cert), ES_WAIT_SECONDS="0.3")
    )

    assert result.code == 1
    assert "CERTIFICATE_VERIFY_FAILED" in result.stderr or "certificate verify failed" in result.stderr
