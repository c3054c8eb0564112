"""Secrets an operator supplies per stage, and how the program reads them.

Stack files in the repository never hold secret values: an operator sets them
with `pulumi config set --secret KEY` (or an ESC environment). Secrets the
platform can invent itself (database passwords, …) are generated with
pulumi-random instead and are not listed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from .credentials import REDACTED

if TYPE_CHECKING:
    from .schema import StageConfig

__all__ = ["OPERATOR_SECRETS", "REDACTED", "SECRET_KEYS", "OperatorSecret", "StageSecrets"]


@dataclass(frozen=True)
class OperatorSecret:
    key: str
    description: str
    required_when: Callable[["StageConfig"], bool] = lambda _config: True


#: Every secret key a stack may carry; any of these given as plain text is an error.
OPERATOR_SECRETS: tuple[OperatorSecret, ...] = (
    OperatorSecret(
        "pagerRoutingKey",
        "PagerDuty Events v2 routing key that critical alerts page through",
        # only stages whose Alertmanager routes something to a pagerduty receiver
        required_when=lambda config: "pagerRoutingKey" in config.monitoring.alertmanager.secret_keys(),
    ),
    OperatorSecret(
        "chatWebhookUrl",
        "chat webhook URL that warning alerts are posted to",
        required_when=lambda config: "chatWebhookUrl" in config.monitoring.alertmanager.secret_keys(),
    ),
)

SECRET_KEYS = frozenset(secret.key for secret in OPERATOR_SECRETS)


@dataclass(frozen=True)
class StageSecrets:
    """Operator-supplied secret values of one stage (plain text, handle with care).

    `redacted` is true under offline synthesis, where every value is `REDACTED`.
    """

    values: dict[str, str] = field(default_factory=dict)
    redacted: bool = False

    def get(self, key: str) -> str:
        if key not in SECRET_KEYS:
            raise KeyError(f"{key!r} is not a known operator secret")
        if self.redacted:
            return REDACTED
        return self.values.get(key, "")

    def missing(self, config: "StageConfig") -> list[OperatorSecret]:
        """Required secrets that are not set for this stage."""
        return [
            secret
            for secret in OPERATOR_SECRETS
            if secret.required_when(config) and not self.values.get(secret.key)
        ]
