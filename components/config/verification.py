"""The `verification` section: the load test's shape (users, ramp, duration, request mix).

The targets it is judged against are not repeated here: they are the stage's
monitoring thresholds (SLO availability, latency average, cache hit ratio,
CPU over requests), so a load test and the alerts can never disagree.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlparse

from pydantic import Field, field_validator

from .types import Duration, Section

#: The workflow API operations the Locust scenario knows (loadtest/locustfile.py).
Operation = Literal["getWorkflow", "runWorkflow", "listWorkflows", "createWorkflow"]

DEFAULT_REQUEST_MIX: dict[str, int] = {"getWorkflow": 6, "runWorkflow": 2, "listWorkflows": 1, "createWorkflow": 1}


class LoadTestConfig(Section):
    """Locust settings of `wfdeploy loadtest STAGE`."""

    users: int = Field(default=50, ge=1, le=10_000, description="concurrent simulated users")
    spawn_rate: float = Field(default=10.0, gt=0, le=1000, description="users started per second")
    duration: Duration = Field(default="5m", description="how long the full load runs")
    think_time_seconds: float = Field(default=1.0, ge=0, le=60, description="mean pause between a user's requests")
    request_mix: dict[Operation, int] = Field(
        default_factory=lambda: dict(DEFAULT_REQUEST_MIX), description="relative weight of each API operation"
    )
    target_url: str | None = Field(default=None, description="base URL; default: the edge's public hostname")
    service_selector: str = Field(
        default='service="workflow-service"', description="PromQL label matchers selecting the service's series"
    )

    @field_validator("request_mix")
    @classmethod
    def _some_traffic(cls, value: dict[str, int]) -> dict[str, int]:
        if not value or any(weight < 0 for weight in value.values()) or not any(value.values()):
            raise ValueError("expected non-negative weights with at least one above zero")
        return value

    @field_validator("target_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None:
            parsed = urlparse(value)
            if parsed.scheme not in ("http", "https") or not parsed.hostname or parsed.username or parsed.password:
                raise ValueError("expected an http(s) URL without user info (credentials never go in a stack file)")
        return value


class VerificationConfig(Section):
    """Post-deploy verification settings."""

    load_test: LoadTestConfig = LoadTestConfig()
