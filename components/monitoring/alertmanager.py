"""Alertmanager configuration derived from the stage: routes by severity, inhibition, receivers.

Receiver credentials are never in the config: each receiver names a file in
the Secret the operator mounts (`*_file` options Alertmanager 0.25 supports),
so the rendered `alertmanager.yaml` is safe to review and commit.
"""

from __future__ import annotations

from typing import Any

from components.config.monitoring import ReceiverConfig
from components.config.schema import StageConfig
from components.monitoring import facts

#: Labels that make two alerts "the same problem" for grouping and inhibition.
GROUP_BY = ["alertname", "namespace", "service"]

#: Receiver without configs for what nobody is notified of. The stack file's receiver names
#: (`^[a-z][a-z0-9-]*$`) cannot start with `_`, so it never clashes with one of theirs.
DROP_RECEIVER = "_drop"

#: The chart's default rules that are for context only: `severity=info` alerts and their
#: always-firing `InfoInhibitor`. The chart's own config routes them to a null receiver; this
#: config replaces it, so it must drop them itself or they reach the warning receiver.
DROPPED_MATCHERS = (['alertname="InfoInhibitor"'], ['severity="info"'])


def _receiver(receiver: ReceiverConfig, secrets_dir: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": receiver.name}
    if receiver.type == "pagerduty":
        entry["pagerduty_configs"] = [
            {
                "routing_key_file": f"{secrets_dir}/{receiver.secret_key}",
                "send_resolved": True,
                "severity": '{{ if eq .CommonLabels.severity "critical" }}critical{{ else }}warning{{ end }}',
                "links": [{"href": "{{ .CommonAnnotations.runbook_url }}", "text": "runbook"}],
            }
        ]
    elif receiver.type == "slack":
        slack: dict[str, Any] = {
            "api_url_file": f"{secrets_dir}/{receiver.secret_key}",
            "send_resolved": True,
            "title": "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.severity }}) "
            "{{ .CommonLabels.namespace }}/{{ .CommonLabels.service }}",
            "text": "{{ range .Alerts }}{{ .Annotations.summary }}: {{ .Annotations.description }}\n"
            "runbook: {{ .Annotations.runbook_url }}\n{{ end }}",
        }
        if receiver.channel:
            slack["channel"] = receiver.channel
        entry["slack_configs"] = [slack]
    elif receiver.type == "webhook":
        entry["webhook_configs"] = [{"url": receiver.url, "send_resolved": True}]
    # "null" receivers have no configs: notifications to them are dropped on purpose
    return entry


def alertmanager_config(config: StageConfig, secrets_dir: str = facts.RECEIVER_SECRET_DIR) -> dict[str, Any]:
    """The whole `alertmanager.yaml` for one stage."""
    settings = config.monitoring.alertmanager
    routes = settings.routes
    return {
        "global": {"resolve_timeout": "5m"},
        "route": {
            "receiver": routes.warning,
            "group_by": list(GROUP_BY),
            "group_wait": settings.group_wait,
            "group_interval": settings.group_interval,
            "repeat_interval": settings.repeat_interval,
            "routes": [
                {
                    "receiver": routes.heartbeat,
                    "matchers": ['alertname="Watchdog"'],
                    "group_wait": "0s",
                    "group_interval": settings.heartbeat_interval,
                    "repeat_interval": settings.heartbeat_interval,
                },
                {"receiver": DROP_RECEIVER, "matchers": DROPPED_MATCHERS[0]},
                {"receiver": routes.critical, "matchers": ['severity="critical"']},
                {"receiver": routes.warning, "matchers": ['severity="warning"']},
                {"receiver": DROP_RECEIVER, "matchers": DROPPED_MATCHERS[1]},
            ],
        },
        "inhibit_rules": [
            {
                # a page already covers the ticket for the same alert and service
                "source_matchers": ['severity="critical"'],
                "target_matchers": ['severity="warning"'],
                "equal": list(GROUP_BY),
            }
        ],
        "receivers": [_receiver(receiver, secrets_dir) for receiver in settings.routed_receivers()] + [{"name": DROP_RECEIVER}],
    }
