"""`wfdeploy loadtest`: drive the configured request mix with Locust, then judge the targets from Prometheus.

The figures come from Prometheus over the metric contract (DESIGN.md), not
from Locust's client-side view, so the verdict is what the alerts would see:

* average response time  sum(increase(http_request_duration_seconds_sum)) / sum(increase(…_count))
* error ratio            5xx share of http_requests_total, within 1 - monitoring.slo.availabilityTarget
* CPU over requests      cAdvisor container_cpu_usage_seconds_total / kube-state-metrics CPU requests
                         (on one local process: process_cpu_seconds_total, or /proc/PID/stat, over the
                         stage's service.resources.cpuRequest)
* cache hit ratio        hit share of workflow_cache_requests_total
"""

from __future__ import annotations

import csv
import datetime
import json
import math
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from components.config.schema import StageConfig
from components.workflow.facts import CONTAINER as WORKFLOW_CONTAINER
from components.config.types import cpu_millicores
from wfdeploy.paths import PROJECT_ROOT

LOCUSTFILE = PROJECT_ROOT / "loadtest" / "locustfile.py"
RESULT_SCHEMA = "wfdeploy.loadtest/v1"


@dataclass(frozen=True)
class Targets:
    """The production targets, read from the stage's monitoring thresholds (one source of truth)."""

    max_average_seconds: float
    max_error_ratio: float
    max_cpu_request_ratio: float
    min_cache_hit_ratio: float

    @classmethod
    def from_config(cls, config: StageConfig) -> "Targets":
        alerts = config.monitoring.alerts
        return cls(
            max_average_seconds=alerts.workflow_latency_high.average_seconds,
            max_error_ratio=round(1 - config.monitoring.slo.availability_target, 10),
            max_cpu_request_ratio=alerts.workflow_cpu_high.max_request_ratio,
            min_cache_hit_ratio=alerts.workflow_cache_hit_rate_low.min_hit_ratio,
        )


@dataclass(frozen=True)
class CpuSource:
    """Where CPU use comes from: `cadvisor` on a cluster; `process-metric` or `pid` for one local process."""

    kind: str  # cadvisor | process-metric | pid
    namespace: str = "workflow"
    container: str = WORKFLOW_CONTAINER
    requested_cores: float = 1.0  # process-metric / pid: the stage's CPU request of one replica
    pid: int | None = None

    @classmethod
    def parse(cls, spec: str, config: StageConfig) -> "CpuSource":
        cores = cpu_millicores(config.service.resources.cpu_request) / 1000
        if spec == "cadvisor":
            return cls("cadvisor", namespace=config.namespaces.workflow)
        if spec == "process-metric":
            return cls("process-metric", requested_cores=cores)
        if spec.startswith("pid:") and spec[4:].isdigit():
            return cls("pid", requested_cores=cores, pid=int(spec[4:]))
        raise ValueError(f"expected cadvisor, process-metric or pid:N as the CPU source, got {spec!r}")


def queries(selector: str, window_seconds: int, cpu: CpuSource) -> dict[str, str]:
    """PromQL per figure over the last `window_seconds` (the whole load run)."""
    w = f"{window_seconds}s"
    sel = "{" + selector + "}"
    sel_5xx = "{" + selector + ',code=~"5.."}'
    sel_hit = "{" + selector + ',result="hit"}'
    result = {
        "requests": f"sum(increase(http_requests_total{sel}[{w}]))",
        "average_seconds": f"sum(increase(http_request_duration_seconds_sum{sel}[{w}])) / "
                           f"sum(increase(http_request_duration_seconds_count{sel}[{w}]))",
        "error_ratio": f"(sum(increase(http_requests_total{sel_5xx}[{w}])) or vector(0)) / "
                       f"sum(increase(http_requests_total{sel}[{w}]))",
        "cache_hit_ratio": f"(sum(increase(workflow_cache_requests_total{sel_hit}[{w}])) or vector(0)) / "
                           f"sum(increase(workflow_cache_requests_total{sel}[{w}]))",
    }
    if cpu.kind == "cadvisor":
        container = f'namespace="{cpu.namespace}",container="{cpu.container}"'
        result["cpu_request_ratio"] = (
            f"sum(rate(container_cpu_usage_seconds_total{{{container}}}[{w}])) / "
            f'sum(kube_pod_container_resource_requests{{{container},resource="cpu"}})'
        )
    elif cpu.kind == "process-metric":
        result["cpu_request_ratio"] = f"sum(rate(process_cpu_seconds_total{sel}[{w}])) / {cpu.requested_cores}"
    return result


@dataclass(frozen=True)
class Figure:
    name: str
    value: float | None
    target: float
    comparison: str  # "<", "<=" or ">="
    unit: str = ""

    @property
    def met(self) -> bool:
        if self.value is None or math.isnan(self.value):
            return False
        return {"<": self.value < self.target, "<=": self.value <= self.target, ">=": self.value >= self.target}[
            self.comparison
        ]

    def describe(self) -> str:
        value = "no data" if self.value is None or math.isnan(self.value) else f"{self.value:.4g}{self.unit}"
        return f"{self.name} = {value} (target {self.comparison} {self.target:g}{self.unit})"


@dataclass
class LocustStats:
    requests: int = 0
    failures: int = 0
    average_ms: float = 0.0


@dataclass
class LoadTestResult:
    stage: str
    target_url: str
    started: str
    duration_seconds: float
    settings: dict[str, Any]
    figures: list[Figure] = field(default_factory=list)
    client: LocustStats = field(default_factory=LocustStats)
    queries: dict[str, str] = field(default_factory=dict)
    cpu_source: str = ""
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and bool(self.figures) and all(figure.met for figure in self.figures)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": RESULT_SCHEMA,
            "stage": self.stage,
            "passed": self.passed,
            "targetUrl": self.target_url,
            "started": self.started,
            "durationSeconds": round(self.duration_seconds, 2),
            "settings": self.settings,
            "figures": [{**asdict(figure), "met": figure.met} for figure in self.figures],
            "client": asdict(self.client),
            "cpuSource": self.cpu_source,
            "queries": self.queries,
            "error": self.error,
        }

    def summary(self) -> str:
        lines = [
            f"loadtest {self.stage}: {'PASSED' if self.passed else 'FAILED'} against {self.target_url} "
            f"({self.settings.get('users')} users, {self.duration_seconds:.0f}s)",
            f"  client: {self.client.requests} requests, {self.client.failures} failed, "
            f"average {self.client.average_ms:.1f} ms (Locust's view)",
        ]
        if self.error:
            lines.append(f"  error: {self.error}")
        for figure in self.figures:
            lines.append(f"  {'ok  ' if figure.met else 'MISS'} {figure.describe()}")
        lines.append(f"  CPU source: {self.cpu_source}")
        return "\n".join(lines) + "\n"


def prometheus_value(prometheus_url: str, query: str, at: float) -> float | None:
    url = prometheus_url.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode({"query": query, "time": f"{at:.3f}"})
    with urllib.request.urlopen(url, timeout=30) as response:
        body = json.loads(response.read())
    if body.get("status") != "success":
        raise RuntimeError(f"Prometheus rejected {query!r}: {body.get('error')}")
    result = body["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def wait_for_scrape_after(prometheus_url: str, selector: str, after: float, timeout: float) -> float:
    """Wait until Prometheus holds a sample of the service taken after `after`; returns the evaluation time."""
    query = "max(timestamp(http_requests_total{" + selector + "}))"
    deadline = time.monotonic() + timeout
    while True:
        now = time.time()
        newest = prometheus_value(prometheus_url, query, now)
        if newest is not None and newest >= after:
            return now
        if time.monotonic() > deadline:
            return now
        time.sleep(0.5)


def _process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def run_locust(target_url: str, users: int, spawn_rate: float, run_seconds: int, think_seconds: float,
               request_mix: dict[str, int], out_dir: Path) -> LocustStats:
    """Locust headless in a subprocess, bounded by `run_seconds`; its CSV stats give the client's view."""
    prefix = out_dir / "locust"
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", target_url,
        "--users", str(users), "--spawn-rate", str(spawn_rate), "--run-time", f"{run_seconds}s",
        "--stop-timeout", "2", "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING",
        "--exit-code-on-error", "0",
    ]
    env = {
        **os.environ,
        "WFDEPLOY_LOADTEST_MIX": json.dumps(request_mix),
        "WFDEPLOY_LOADTEST_THINK_SECONDS": str(think_seconds),
    }
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=run_seconds + 60, check=False)
    (out_dir / "locust.log").write_text(completed.stdout + completed.stderr)
    if completed.returncode != 0:
        raise RuntimeError(f"locust exited {completed.returncode}: {completed.stderr.strip()[-500:]}")
    stats = LocustStats()
    with open(f"{prefix}_stats.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get("Name") == "Aggregated":
                stats = LocustStats(
                    int(row["Request Count"]), int(row["Failure Count"]), float(row["Average Response Time"])
                )
    return stats


@dataclass(frozen=True)
class LoadTestPlan:
    stage: str
    target_url: str
    prometheus_url: str
    users: int
    spawn_rate: float
    run_seconds: int
    think_seconds: float
    request_mix: dict[str, int]
    selector: str
    targets: Targets
    cpu: CpuSource
    scrape_timeout_seconds: float = 30.0


def load_test(plan: LoadTestPlan, out_dir: Path) -> LoadTestResult:
    """Run the load, judge the figures, write result.json and summary.txt into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = {"users": plan.users, "spawnRate": plan.spawn_rate, "runSeconds": plan.run_seconds,
                "thinkSeconds": plan.think_seconds, "requestMix": plan.request_mix, "targets": asdict(plan.targets)}
    started_at = time.time()
    result = LoadTestResult(
        stage=plan.stage, target_url=plan.target_url, settings=settings, duration_seconds=0.0,
        started=datetime.datetime.fromtimestamp(started_at, datetime.timezone.utc).isoformat(timespec="seconds"),
        cpu_source=_describe_cpu(plan.cpu),
    )
    try:
        cpu_before = _process_cpu_seconds(plan.cpu.pid) if plan.cpu.kind == "pid" else 0.0
        result.client = run_locust(plan.target_url, plan.users, plan.spawn_rate, plan.run_seconds, plan.think_seconds,
                                   plan.request_mix, out_dir)
        ended_at = time.time()
        cpu_after = _process_cpu_seconds(plan.cpu.pid) if plan.cpu.kind == "pid" else 0.0
        result.duration_seconds = ended_at - started_at
        evaluated_at = wait_for_scrape_after(plan.prometheus_url, plan.selector, ended_at, plan.scrape_timeout_seconds)
        window = math.ceil(evaluated_at - started_at) + 1
        result.queries = queries(plan.selector, window, plan.cpu)
        values = {
            name: prometheus_value(plan.prometheus_url, query, evaluated_at) for name, query in result.queries.items()
        }
        if plan.cpu.kind == "pid":
            values["cpu_request_ratio"] = (cpu_after - cpu_before) / (ended_at - started_at) / plan.cpu.requested_cores
        if not values.get("requests"):
            result.error = f"Prometheus saw no requests matching {{{plan.selector}}} during the run"
        targets = plan.targets
        result.figures = [
            Figure("average response time", values.get("average_seconds"), targets.max_average_seconds, "<", "s"),
            # the SLO allows errors up to the budget: "within" includes the boundary
            Figure("error ratio", values.get("error_ratio"), targets.max_error_ratio, "<="),
            Figure("CPU / requests", values.get("cpu_request_ratio"), targets.max_cpu_request_ratio, "<"),
            Figure("cache hit ratio", values.get("cache_hit_ratio"), targets.min_cache_hit_ratio, ">="),
        ]
    except (RuntimeError, OSError, subprocess.TimeoutExpired, ValueError) as error:
        result.error = str(error)
    write_result(result, out_dir)
    return result


def _describe_cpu(cpu: CpuSource) -> str:
    if cpu.kind == "cadvisor":
        return (
            "cAdvisor container_cpu_usage_seconds_total / kube-state-metrics CPU requests "
            f"({cpu.namespace}/{cpu.container})"
        )
    source = "process_cpu_seconds_total" if cpu.kind == "process-metric" else f"/proc/{cpu.pid}/stat utime+stime"
    return f"{source} of one local process / the stage's CPU request {cpu.requested_cores:g} cores"


def write_result(result: LoadTestResult, out_dir: Path) -> None:
    (out_dir / "result.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    (out_dir / "summary.txt").write_text(result.summary())
