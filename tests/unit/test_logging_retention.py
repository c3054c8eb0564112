"""The setup job's comparison and desired state: what counts as 'already applied'."""

from __future__ import annotations

from components.logging.retention import SnapshotTarget, desired_state
from components.logging.retention_job.converge import contains, current_definition
from tests.stagehelpers import load_stage_with


def test_defaults_elasticsearch_adds_do_not_count_as_drift():
    desired = {"policy": {"phases": {"delete": {"min_age": "30d", "actions": {"delete": {}}}}}}
    current = {"policy": {"phases": {"delete": {"min_age": "30d", "actions": {"delete": {"delete_searchable_snapshot": True}}}}}}
    assert contains(current, desired)


def test_a_changed_value_is_drift():
    assert not contains({"policy": {"phases": {"delete": {"min_age": "7d"}}}}, {"policy": {"phases": {"delete": {"min_age": "30d"}}}})


def test_settings_echoed_as_strings_compare_equal():
    assert contains({"number_of_replicas": "1", "server_side_encryption": "true"}, {"number_of_replicas": "1", "server_side_encryption": True})
    assert contains({"include_global_state": False}, {"include_global_state": False})
    assert not contains({"include_global_state": True}, {"include_global_state": False})


def test_lists_must_match_exactly():
    assert contains({"index_patterns": ["platform-logs-*"]}, {"index_patterns": ["platform-logs-*"]})
    assert not contains({"index_patterns": ["platform-logs-*", "other-*"]}, {"index_patterns": ["platform-logs-*"]})


def test_missing_object_is_drift():
    assert not contains(None, {"type": "s3"})
    assert current_definition("indexTemplates", "platform-logs", {"index_templates": []}) is None
    assert current_definition("ilmPolicies", "x", {}) is None


def test_get_answers_are_cut_to_what_a_put_sends():
    assert current_definition("ilmPolicies", "p", {"p": {"version": 3, "policy": {"phases": {}}}}) == {"policy": {"phases": {}}}
    assert current_definition("slmPolicies", "s", {"s": {"version": 1, "policy": {"schedule": "x"}}}) == {"schedule": "x"}
    assert current_definition("snapshotRepositories", "r", {"r": {"type": "s3"}}) == {"type": "s3"}


def test_desired_state_is_applied_policy_first_and_slm_last():
    state = desired_state(load_stage_with("production").config.logging, SnapshotTarget("bucket-x", "eu-west-1"))
    assert list(state) == ["ilmPolicies", "indexTemplates", "snapshotRepositories", "slmPolicies"]
    (slm,) = state["slmPolicies"].values()
    assert slm["repository"] in state["snapshotRepositories"]
    assert slm["config"]["indices"] == ["filebeat-platform-*"]
