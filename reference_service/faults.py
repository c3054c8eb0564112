"""Switchable faults: set at start from FAULT_* environment variables, changed at run time over /admin/faults."""

from __future__ import annotations

import os
import threading
from dataclasses import asdict, dataclass, fields

#: Field → environment variable read at start.
ENVIRONMENT = {
    "error_rate": "FAULT_ERROR_RATE",
    "added_latency_seconds": "FAULT_LATENCY_SECONDS",
    "cache_miss_ratio": "FAULT_CACHE_MISS_RATIO",
    "slow_query_ratio": "FAULT_SLOW_QUERY_RATIO",
    "slow_query_seconds": "FAULT_SLOW_QUERY_SECONDS",
    "critical_errors": "FAULT_CRITICAL_ERRORS",
}
RATIOS = ("error_rate", "cache_miss_ratio", "slow_query_ratio")


@dataclass
class Faults:
    error_rate: float = 0.0
    added_latency_seconds: float = 0.0
    cache_miss_ratio: float = 0.0
    slow_query_ratio: float = 0.0
    slow_query_seconds: float = 0.3
    critical_errors: bool = False


class FaultSwitch:
    """Thread-safe holder of the current faults."""

    def __init__(self, initial: Faults | None = None):
        self._faults = initial or Faults()
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> "FaultSwitch":
        environ = dict(os.environ if environ is None else environ)
        switch = cls()
        switch.update({name: environ[var] for name, var in ENVIRONMENT.items() if var in environ})
        return switch

    def current(self) -> Faults:
        with self._lock:
            return Faults(**asdict(self._faults))

    def update(self, changes: dict) -> Faults:
        """Apply {field: value}; raises ValueError naming the field on bad input."""
        known = {field.name: field.type for field in fields(Faults)}
        parsed = {}
        for name, raw in changes.items():
            if name not in known:
                raise ValueError(f"unknown fault {name!r}; known: {', '.join(known)}")
            if name == "critical_errors":
                parsed[name] = raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes", "on")
                continue
            try:
                value = float(raw)
            except (TypeError, ValueError):
                raise ValueError(f"fault {name!r} must be a number, got {raw!r}") from None
            if value < 0 or (name in RATIOS and value > 1):
                raise ValueError(f"fault {name!r} must be {'in [0, 1]' if name in RATIOS else '>= 0'}, got {raw!r}")
            parsed[name] = value
        with self._lock:
            for name, value in parsed.items():
                setattr(self._faults, name, value)
            return Faults(**asdict(self._faults))
