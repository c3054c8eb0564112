"""The `logging` section: bad values stop at the boundary with the key that holds them."""

from __future__ import annotations

import pytest

from components.config import ConfigError
from tests.stagehelpers import STAGES, load_stage_with, section

P = "workflow-platform"


def problems_of(stage, overrides):
    with pytest.raises(ConfigError) as caught:
        load_stage_with(stage, overrides)
    return {problem.path: problem.message for problem in caught.value.problems}


def logging_with(stage: str, **changes) -> dict:
    """The stage's logging section with nested keys replaced, e.g. elasticsearch={"nodeCount": 2}."""
    logging = section(stage, "logging")
    for key, value in changes.items():
        logging[key] = logging[key] | value if isinstance(value, dict) else value
    return {f"{P}:logging": logging}


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_declares_logging(stage):
    assert load_stage_with(stage).config.logging.version


def test_alpha_and_local_run_one_node_and_production_three():
    counts = {stage: load_stage_with(stage).config.logging.elasticsearch.node_count for stage in STAGES}
    assert counts["local"] == counts["alpha"] == 1
    assert counts["production"] == 3


def test_retention_is_7_days_in_alpha_and_30_in_production():
    assert load_stage_with("alpha").config.logging.retention.days == 7
    assert load_stage_with("production").config.logging.retention.days == 30


def test_missing_logging_section_is_reported():
    with pytest.raises(ConfigError) as caught:
        load_stage_with("alpha", drop=(f"{P}:logging",))
    assert any(problem.path == f"{P}:logging" for problem in caught.value.problems)


def test_two_elasticsearch_nodes_are_refused_naming_the_key():
    problems = problems_of("alpha", logging_with("alpha", elasticsearch={"nodeCount": 2}))
    assert "master quorum" in problems[f"{P}:logging.elasticsearch.nodeCount"]


def test_elasticsearch_memory_below_one_gibibyte_is_refused():
    elasticsearch = section("alpha", "logging")["elasticsearch"]
    elasticsearch["resources"] |= {"memoryRequest": "512Mi", "memoryLimit": "512Mi"}
    problems = problems_of("alpha", logging_with("alpha", elasticsearch=elasticsearch))
    assert "at least 1Gi" in problems[f"{P}:logging.elasticsearch"]


def test_stack_version_must_be_major_minor_patch_of_8_or_later():
    assert "MAJOR.MINOR.PATCH" in problems_of("alpha", logging_with("alpha", version="9.2"))[f"{P}:logging.version"]
    assert "8.x or later" in problems_of("alpha", logging_with("alpha", version="7.17.0"))[f"{P}:logging.version"]


def test_retention_days_must_be_positive():
    problems = problems_of("production", logging_with("production", retention={"days": 0}))
    assert "greater than or equal to 1" in problems[f"{P}:logging.retention.days"]


def test_rollover_later_than_deletion_is_refused():
    problems = problems_of("alpha", logging_with("alpha", retention={"days": 3, "rolloverMaxAgeDays": 7}))
    assert "exceeds days" in problems[f"{P}:logging.retention"]


def test_snapshot_schedule_must_be_cron_and_use_one_day_field():
    assert "cron" in problems_of("alpha", logging_with("alpha", snapshots={"schedule": "daily"}))[f"{P}:logging.snapshots.schedule"]
    problems = problems_of("alpha", logging_with("alpha", snapshots={"schedule": "0 1 1 * 1"}))
    assert "not both" in problems[f"{P}:logging.snapshots.schedule"]


def test_snapshot_min_count_above_max_count_is_refused():
    problems = problems_of("alpha", logging_with("alpha", snapshots={"minCount": 10, "maxCount": 5}))
    assert "exceeds maxCount" in problems[f"{P}:logging.snapshots"]


def test_unknown_logging_key_is_rejected():
    problems = problems_of("alpha", logging_with("alpha", kibana={"replicas": 1, "replica": 2}))
    assert problems[f"{P}:logging.kibana.replica"] == "unknown key"


@pytest.mark.parametrize("taken", ["workflow", "logging", "monitoring"])
def test_shipper_may_not_share_a_restricted_namespace(taken):
    problems = problems_of("alpha", logging_with("alpha", shipper={"namespace": taken}))
    assert "must stay Pod Security `restricted`" in problems[f"{P}:logging.shipper.namespace"]


@pytest.mark.parametrize(
    ("cron", "quartz"),
    [
        ("30 1 * * *", "0 30 1 * * ?"),
        ("0 3 * * 0", "0 0 3 ? * SUN"),
        ("15 2 * * 1-5", "0 15 2 ? * MON-FRI"),
        ("0 */6 1 * *", "0 0 */6 1 * ?"),
    ],
)
def test_snapshot_schedule_becomes_the_quartz_form_slm_expects(cron, quartz):
    config = load_stage_with("alpha", logging_with("alpha", snapshots={"schedule": cron})).config
    assert config.logging.snapshots.quartz_schedule() == quartz
