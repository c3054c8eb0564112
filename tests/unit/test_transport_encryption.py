"""Every client of PostgreSQL the platform runs requires TLS (SECURITY.md: encryption in transit)."""

from __future__ import annotations

import pytest

from tests.stagehelpers import STAGES, find_object


@pytest.mark.parametrize("stage", STAGES)
def test_workflow_service_and_backup_jobs_require_tls_to_postgres(synthesized, stage):
    synthesis = synthesized(stage)
    settings = find_object(synthesis, "ConfigMap", "workflow-service-settings", "workflow")
    assert settings["data"]["DATABASE_SSLMODE"] == "require"
    for cronjob in ("workflow-db-backup", "workflow-db-restore-drill"):
        pod = find_object(synthesis, "CronJob", cronjob, "workflow-data")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        for container in pod["containers"]:
            env = {item["name"]: item.get("value") for item in container.get("env", [])}
            assert env.get("PGSSLMODE") == "require", f"{cronjob}/{container['name']}"
