"""The verify record promotion reads: build/<stage>/verify/result.json, and its human summary."""

from wfdeploy.verification.verify import Check, VerifyResult, parse_junit, read_result, result_dir, write_result

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="4">
<testcase classname="tests.verify.test_hosts" name="test_only_expected_ports_listen[workflow-service@pod-a]" time="0.2"/>
<testcase classname="tests.verify.test_hosts" name="test_root_filesystem_is_read_only[workflow-service@pod-a]" time="0.1">
  <failure message="AssertionError: / is mounted ['relaxed', 'rw'] (overlay overlay)&#10;assert 'ro' in ...">trace</failure>
</testcase>
<testcase classname="tests.verify.test_stage" name="test_elasticsearch_is_healthy_and_receiving_todays_logs" time="0.0">
  <skipped type="pytest.skip" message="not applicable: the inventory has no Elasticsearch URL">skip</skipped>
</testcase>
<testcase classname="tests.verify.test_stage" name="test_prometheus_has_every_target_up" time="1.0">
  <error message="failed on setup with &quot;boom&quot;">trace</error>
</testcase>
</testsuite></testsuites>
"""


def test_junit_outcomes_become_host_and_stage_checks_with_their_first_message_line(tmp_path):
    path = tmp_path / "junit.xml"
    path.write_text(JUNIT)
    checks = parse_junit(path)
    assert [(c.kind, c.target, c.outcome) for c in checks] == [
        ("host", "workflow-service@pod-a", "passed"),
        ("host", "workflow-service@pod-a", "failed"),
        ("stage", "", "not_applicable"),
        ("stage", "", "error"),
    ]
    assert checks[1].message == "AssertionError: / is mounted ['relaxed', 'rw'] (overlay overlay)"


def _result(*outcomes, missing=(), error=None):
    checks = [Check("host", f"test_{i}", "t", outcome) for i, outcome in enumerate(outcomes)]
    return VerifyResult("staging", "2026-01-01T00:00:00+00:00", 1.0, checks, {"id": "r-1", "imageDigest": "sha256:a"},
                        list(missing), [], error)


def test_a_stage_passes_only_with_passing_checks_and_nothing_failed_missing_or_broken():
    assert _result("passed", "not_applicable").passed
    assert not _result("passed", "failed").passed
    assert not _result("passed", "error").passed
    assert not _result("not_applicable").passed  # nothing verified is not a verification
    assert not _result("passed", missing=["workflow-service: no running pod"]).passed
    assert not _result("passed", error="kubectl not found").passed


def test_result_json_holds_the_verdict_release_and_counts_for_promotion(tmp_path):
    result = _result("passed", "failed")
    write_result(result, result_dir(tmp_path, "staging"))
    record = read_result(tmp_path, "staging")
    assert record["schema"] == "wfdeploy.verify/v1" and record["stage"] == "staging"
    assert record["passed"] is False and record["release"]["id"] == "r-1"
    assert record["counts"] == {"passed": 1, "failed": 1, "error": 0, "not_applicable": 0}
    summary = (result_dir(tmp_path, "staging") / "summary.txt").read_text()
    assert summary.startswith("verify staging: FAILED (1 passed, 1 failed") and "FAIL host" in summary
    assert read_result(tmp_path, "production") is None
