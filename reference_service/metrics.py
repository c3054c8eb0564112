"""A minimal Prometheus registry (counters and histograms) rendered in the text exposition format."""

from __future__ import annotations

import threading
from collections import defaultdict

HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
DB_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


def _format_value(value: float) -> str:
    if value == float("inf"):
        return "+Inf"
    return repr(float(value))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs: tuple[tuple[str, str], ...]) -> str:
    return "{" + ",".join(f'{key}="{_escape(value)}"' for key, value in pairs) + "}" if pairs else ""


class Counter:
    def __init__(self, name: str, help_text: str):
        self.name, self.help = name, help_text
        self._values: dict[tuple, float] = defaultdict(float)
        self._lock = threading.Lock()

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        with self._lock:
            self._values[tuple(sorted(labels.items()))] += amount

    def value(self, **labels: str) -> float:
        return self._values.get(tuple(sorted(labels.items())), 0.0)

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        with self._lock:
            for key, value in sorted(self._values.items()):
                lines.append(f"{self.name}{_labels(key)} {_format_value(value)}")
        return lines


class Histogram:
    def __init__(self, name: str, help_text: str, buckets: tuple[float, ...]):
        self.name, self.help = name, help_text
        self.buckets = tuple(sorted(buckets)) + (float("inf"),)
        self._series: dict[tuple, list] = {}
        self._lock = threading.Lock()

    def observe(self, value: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            counts, total = self._series.setdefault(key, [[0] * len(self.buckets), 0.0])
            for index, bound in enumerate(self.buckets):
                if value <= bound:
                    counts[index] += 1
            self._series[key][1] = total + value

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        with self._lock:
            for key, (counts, total) in sorted(self._series.items()):
                for bound, count in zip(self.buckets, counts):
                    lines.append(f"{self.name}_bucket{_labels(key + (('le', _format_value(bound)),))} {count}")
                lines.append(f"{self.name}_sum{_labels(key)} {_format_value(total)}")
                lines.append(f"{self.name}_count{_labels(key)} {counts[-1]}")
        return lines


class ServiceMetrics:
    """Every series of the metric contract (DESIGN.md), pre-initialised so that increase() sees the first event."""

    def __init__(self, service: str):
        self.service = service
        self.requests = Counter("http_requests_total", "HTTP requests served, by route, method and status code.")
        self.request_duration = Histogram(
            "http_request_duration_seconds", "HTTP request latency in seconds.", HTTP_BUCKETS
        )
        self.cache = Counter("workflow_cache_requests_total", "Cache look-ups by result.")
        self.db_duration = Histogram("workflow_db_query_duration_seconds", "Database query time in seconds.", DB_BUCKETS)
        self.errors = Counter("workflow_errors_total", "Errors logged, by severity.")
        self.executions = Counter("workflow_executions_total", "Workflow runs finished, by status.")
        for result in ("hit", "miss"):
            self.cache.inc(0, service=service, result=result)
        for severity in ("critical", "error"):
            self.errors.inc(0, service=service, severity=severity)
        for status in ("succeeded", "failed"):
            self.executions.inc(0, service=service, status=status)

    def render(self) -> str:
        lines: list[str] = []
        for metric in (self.requests, self.request_duration, self.cache, self.db_duration, self.errors, self.executions):
            lines += metric.render()
        return "\n".join(lines) + "\n"
