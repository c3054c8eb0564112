"""Artifact writers: each adds files of one concern to build/<stage>/; `ARTIFACT_WRITERS` lists them in the order they run."""

from __future__ import annotations

from wfdeploy.render.artifacts import logging, monitoring
from wfdeploy.render.context import ArtifactWriter

#: Every artifact writer, in the order they run.
ARTIFACT_WRITERS: list[ArtifactWriter] = [logging.write_logging_artifacts, monitoring.write_monitoring]
