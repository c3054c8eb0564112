"""The per-stage tables of the operations guide (objectives, what runs where) match the stack files."""

from __future__ import annotations

import re

import pytest

from tests.docs.markdown import section_text, tables
from tests.stagehelpers import PROJECT_ROOT, STAGES, load_stage_with

GUIDE = PROJECT_ROOT / "docs" / "operations-guide.md"
BACKUP_DOC = PROJECT_ROOT / "docs" / "backup.md"


def _plain(cell: str) -> str:
    """A cell without markdown code/emphasis and spaces, for comparing values."""
    return re.sub(r"[`*\s]", "", cell)


def _table(path, heading: str) -> dict[str, dict[str, str]]:
    """{stage: {column header: cell}} of the first table under a heading."""
    found = tables(section_text(path, heading))
    assert found, f"{path.name}: no table under {heading!r}"
    header, *rows = found[0]
    by_stage = {_plain(row[0]): dict(zip(header, row)) for row in rows}
    assert sorted(by_stage) == sorted(STAGES), f"{path.name} {heading!r}: rows {sorted(by_stage)}, expected every stage"
    return by_stage


def _objectives(stage: str) -> dict[str, str]:
    config = load_stage_with(stage).config
    monitoring = config.monitoring
    return {
        "availability SLO": f"{monitoring.slo.availability_target * 100:g}%",
        "latency alert (average over window)": f"{monitoring.alerts.workflow_latency_high.average_seconds:g}s",
        "backup schedule (UTC)": config.backup.schedule,
        "RPO (`backup.rpo`)": config.backup.rpo,
        "restore drill (UTC)": config.backup.restore_drill_schedule,
    }


def _placement(stage: str) -> dict[str, str]:
    config = load_stage_with(stage).config
    monitoring, logging = config.monitoring, config.logging
    rate = config.edge.rate_limit
    return {
        "kube context": config.cluster.context,
        "digests only (`images.requireDigests`)": "yes" if config.images.require_digests else "no",
        "highly available (`availability.highlyAvailable`)": "yes" if config.availability.highly_available else "no",
        "workflow pods (min–max)": f"{config.service.replicas}–{config.service.max_replicas}",
        "PostgreSQL instances": str(config.data.postgres.instances),
        "Redis replicas": str(config.data.redis.replicas),
        "Elasticsearch nodes": str(logging.elasticsearch.node_count),
        "log retention": f"{logging.retention.days}d",
        "Prometheus replicas · retention": f"{monitoring.prometheus.replicas}·{monitoring.prometheus.retention}",
        "Alertmanager replicas": str(monitoring.alertmanager.replicas),
        "backup store": config.backup.store,
        "edge TLS": "yes" if config.edge.tls.enabled else "no",
        "rate limit per proxy": f"{rate.requests}/{rate.unit.lower()}",
    }


def _mismatches(stage: str, row: dict[str, str], expected: dict[str, str]) -> list[str]:
    problems = []
    for column, value in expected.items():
        if column not in row:
            problems.append(f"column {column!r} missing (have {list(row)})")
        elif _plain(row[column]) != _plain(value):
            problems.append(f"{stage} {column}: the guide says {row[column]!r}, the stack file {value!r}")
    return problems


@pytest.mark.parametrize("stage", STAGES)
def test_objectives_table_matches_the_stack_file(stage):
    row = _table(GUIDE, "Objectives per stage: SLO, RPO, RTO")[stage]
    assert _mismatches(stage, row, _objectives(stage)) == []


@pytest.mark.parametrize("stage", STAGES)
def test_rto_in_the_guide_is_the_backup_documents_target(stage):
    guide = _table(GUIDE, "Objectives per stage: SLO, RPO, RTO")[stage]
    backup = _table(BACKUP_DOC, "RPO and RTO per stage")[stage]
    rto_column = next(column for column in backup if column.startswith("RTO"))
    assert _plain(guide["RTO target"]) == _plain(backup[rto_column])


@pytest.mark.parametrize("stage", STAGES)
def test_backup_documents_rpo_is_the_stack_files(stage):
    backup = _table(BACKUP_DOC, "RPO and RTO per stage")[stage]
    rpo_column = next(column for column in backup if column.startswith("RPO"))
    assert _plain(backup[rpo_column]) == _plain(load_stage_with(stage).config.backup.rpo)


@pytest.mark.parametrize("stage", STAGES)
def test_what_runs_where_table_matches_the_stack_file(stage):
    row = _table(GUIDE, "What runs where")[stage]
    assert _mismatches(stage, row, _placement(stage)) == []


def test_a_stale_rpo_in_a_table_is_reported(tmp_path):
    doc = tmp_path / "guide.md"
    doc.write_text(
        "## Objectives\n\n| stage | RPO (`backup.rpo`) |\n|---|---|\n"
        + "".join(f"| {stage} | `{'2h' if stage == 'production' else load_stage_with(stage).config.backup.rpo}` |\n" for stage in STAGES)
    )
    rows = _table(doc, "Objectives")
    expected = {"RPO (`backup.rpo`)": load_stage_with("production").config.backup.rpo}
    assert _mismatches("production", rows["production"], expected) == [
        "production RPO (`backup.rpo`): the guide says '`2h`', the stack file '1h'"
    ]
    assert _mismatches("staging", rows["staging"], {"RPO (`backup.rpo`)": "2h"}) == []


DEPLOYMENT_GUIDE = PROJECT_ROOT / "docs" / "deployment-guide.md"


@pytest.mark.parametrize("stage", STAGES)
def test_deployment_guide_lists_the_operator_secrets_each_stage_requires(stage):
    from components.config.secrets import OPERATOR_SECRETS

    config = load_stage_with(stage).config
    required = {secret.key for secret in OPERATOR_SECRETS if secret.required_when(config)}
    row = _table(DEPLOYMENT_GUIDE, "4. Operator secrets")[stage]
    listed = set(re.findall(r"`(\w+)`", row["operator secrets to set"]))
    assert listed == required


def test_deployment_guide_prerequisites_are_the_stack_files_versions():
    text = section_text(DEPLOYMENT_GUIDE, "0. Prerequisites")
    for stage in STAGES:
        config = load_stage_with(stage).config
        assert f"Kubernetes {config.cluster.kubernetes_version}" in text, f"{stage}: cluster.kubernetesVersion"
        if config.promotion:
            versions = config.promotion.pulumi_version
            assert f"≥ {versions.minimum}, < {versions.below}" in text, f"{stage}: promotion.pulumiVersion"


def test_deployment_guide_pins_the_charts_of_charts_yaml():
    from components.charts import pinned_charts

    header, *rows = tables(section_text(DEPLOYMENT_GUIDE, "Pinned versions"))[0]
    listed = {_plain(row[0]): (_plain(row[1]), _plain(row[2])) for row in rows}
    assert listed == {name: (chart.chart, chart.version) for name, chart in pinned_charts().items()}
