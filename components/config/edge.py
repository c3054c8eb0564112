"""The edge's stage settings: Envoy Gateway, rate limit, timeouts, body size and TLS."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from .types import DnsLabel, Section

_HOSTNAME_RE = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
#: Envoy Gateway's duration format (Go-style, e.g. '15s', '1m30s', '500ms').
_ENVOY_DURATION_RE = re.compile(r"^([0-9]{1,5}(h|m|s|ms)){1,4}$")
#: Envoy Gateway's size format for buffer limits (e.g. '1Mi', '512Ki').
_SIZE_RE = re.compile(r"^[1-9][0-9]*([EPTGMK]i|[EPTGMk])?$")


_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def envoy_duration_seconds(value: str) -> float:
    """Seconds in an Envoy Gateway duration such as '500ms', '15s' or '1m30s'."""
    if not _ENVOY_DURATION_RE.match(value):
        raise ValueError(f"expected a duration like '500ms', '15s' or '1m30s', got {value!r}")
    seconds = sum(int(number) * _UNIT_SECONDS[unit] for number, unit in re.findall(r"([0-9]+)(ms|h|m|s)", value))
    if seconds <= 0:
        raise ValueError(f"expected a positive duration, got {value!r}")
    return seconds


class RateLimitConfig(Section):
    """Local (per Envoy replica) token-bucket limit on the workflow route."""

    requests: int = Field(ge=1, le=1_000_000, description="requests allowed per unit, per Envoy replica")
    unit: Literal["Second", "Minute", "Hour"] = "Second"


class TimeoutsConfig(Section):
    """HTTP timeouts on the workflow route."""

    request: str = Field(description="whole request, client to response (HTTPRoute timeouts.request)")
    backend_request: str = Field(description="one attempt to the backend (HTTPRoute timeouts.backendRequest)")
    idle: str = "60s"

    @field_validator("request", "backend_request", "idle")
    @classmethod
    def _duration(cls, value: str) -> str:
        envoy_duration_seconds(value)
        return value

    @model_validator(mode="after")
    def _backend_within_request(self) -> "TimeoutsConfig":
        if envoy_duration_seconds(self.backend_request) > envoy_duration_seconds(self.request):
            raise ValueError(f"backendRequest {self.backend_request} exceeds request {self.request}")
        return self


class TlsConfig(Section):
    """HTTPS through cert-manager with an ACME ClusterIssuer (HTTP-01 solved through the Gateway)."""

    enabled: bool = False
    acme_server: str = "https://acme-staging-v02.api.letsencrypt.org/directory"
    email: str | None = None

    @model_validator(mode="after")
    def _email_when_enabled(self) -> "TlsConfig":
        if self.enabled and not self.email:
            raise ValueError("email is required when tls.enabled is true (ACME account contact)")
        if not self.acme_server.startswith("https://"):
            raise ValueError(f"acmeServer must be an https URL, got {self.acme_server!r}")
        return self


class EdgeConfig(Section):
    """Everything the edge differs in between stages."""

    hostname: str = Field(description="public host name the Gateway answers for")
    controller_namespace: DnsLabel = "envoy-gateway-system"
    cert_manager_namespace: DnsLabel = "cert-manager"
    proxy_replicas: int = Field(ge=1, le=20, description="Envoy proxy pods behind the Gateway")
    rate_limit: RateLimitConfig
    timeouts: TimeoutsConfig
    max_request_body_size: str = Field(description="largest request body accepted, e.g. '1Mi'; larger gets 413")
    max_connections: int = Field(default=10000, ge=1, description="downstream connections per Envoy replica")
    tls: TlsConfig = TlsConfig()

    @field_validator("hostname")
    @classmethod
    def _hostname(cls, value: str) -> str:
        if not _HOSTNAME_RE.match(value):
            raise ValueError(f"expected a lower-case DNS host name like 'api.example.com', got {value!r}")
        return value

    @field_validator("max_request_body_size")
    @classmethod
    def _size(cls, value: str) -> str:
        if not _SIZE_RE.match(value):
            raise ValueError(f"expected a size like '512Ki' or '1Mi', got {value!r}")
        return value
