"""Writes build/<stage>/monitoring/ (rule files, alertmanager.yaml, dashboards) and build/<stage>/runbooks/.

The rule files are what promtool reads and what the PrometheusRule objects
wrap; a rule whose runbook template is missing stops the render.
"""

from __future__ import annotations

from pathlib import Path

from components.monitoring.alertmanager import alertmanager_config
from components.monitoring.dashboards import dashboards
from components.monitoring.rules import rule_files
from components.monitoring.runbooks import MissingRunbook, render_runbooks
from wfdeploy.render.context import GateFailure, RenderContext, RenderError
from wfdeploy.render.documents import dump_json, dump_yaml

MONITORING_DIR = "monitoring"
RUNBOOKS_DIR = "runbooks"


def monitoring_paths(output_dir: Path) -> dict[str, Path]:
    base = output_dir / MONITORING_DIR
    return {
        "rules": base / "rules",
        "alertmanager": base / "alertmanager.yaml",
        "dashboards": base / "dashboards",
        "runbooks": output_dir / RUNBOOKS_DIR,
    }


def write_monitoring(context: RenderContext) -> None:
    config = context.stage.config
    try:
        runbooks = render_runbooks(config)
    except MissingRunbook as error:
        raise RenderError([GateFailure("runbooks", str(error))], gate_name="monitoring") from None
    paths = monitoring_paths(context.output_dir)
    for folder in (paths["rules"], paths["dashboards"], paths["runbooks"]):
        folder.mkdir(parents=True, exist_ok=True)
    for name, document in rule_files(config).items():
        (paths["rules"] / f"{name}.yaml").write_text(dump_yaml(document))
    paths["alertmanager"].write_text(dump_yaml(alertmanager_config(config)))
    for name, board in dashboards(config).items():
        (paths["dashboards"] / f"{name}.json").write_text(dump_json(board))
    for name, text in runbooks.items():
        (paths["runbooks"] / f"{name}.md").write_text(text)
