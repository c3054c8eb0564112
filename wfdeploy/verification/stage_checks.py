"""Stage-level checks: each takes endpoints and returns its figures, or raises CheckFailed saying why.

They talk HTTP with the standard library only, so the same functions run from
an operator's laptop against a deployed stage and here against local processes.
"""

from __future__ import annotations

import base64
import concurrent.futures
import datetime
import http.client
import json
import os
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


class CheckFailed(AssertionError):
    """A stage-level check found the stage not as it must be; the message has the figures."""


def _request(url: str, *, host: str | None = None, headers: dict[str, str] | None = None, data: bytes | None = None,
             timeout: float = 10.0) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, headers=dict(headers or {}))
    if host:
        request.add_header("Host", host)
    # in-cluster services behind port-forward present the cluster's own CA; verification is about reachability
    context = ssl._create_unverified_context() if url.startswith("https://127.0.0.1") else None
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (urllib.error.URLError, OSError) as error:
        raise CheckFailed(f"{url}: not reachable ({getattr(error, 'reason', error)})") from None


def _json(url: str, **kwargs: Any) -> Any:
    status, body = _request(url, **kwargs)
    if status != 200:
        raise CheckFailed(f"{url}: HTTP {status}: {body[:200]!r}")
    return json.loads(body)


def health_through_edge(
    edge_url: str, host: str | None = None, paths: tuple[str, ...] = ("/healthz", "/readyz")
) -> dict:
    """Every health endpoint answers 200 through the public edge."""
    statuses = {path: _request(edge_url.rstrip("/") + path, host=host)[0] for path in paths}
    failing = {path: status for path, status in statuses.items() if status != 200}
    if failing:
        raise CheckFailed(f"health through the edge {edge_url}: expected 200, got {failing}")
    return {"statuses": statuses}


def _burst_statuses(url: str, host: str | None, count: int, workers: int) -> list[int]:
    """`count` GETs over `workers` keep-alive connections, as fast as they go."""
    parsed = urllib.parse.urlsplit(url)
    connection_class = http.client.HTTPSConnection if parsed.scheme == "https" else http.client.HTTPConnection
    path = parsed.path or "/"
    per_worker = [count // workers + (1 if index < count % workers else 0) for index in range(workers)]

    def worker(requests: int) -> list[int]:
        connection = connection_class(parsed.hostname, parsed.port, timeout=10)
        statuses = []
        try:
            for _ in range(requests):
                connection.request("GET", path, headers={"Host": host or parsed.netloc})
                response = connection.getresponse()
                response.read()
                statuses.append(response.status)
                if response.getheader("connection", "").lower() == "close":
                    connection.close()
                    connection = connection_class(parsed.hostname, parsed.port, timeout=10)
        finally:
            connection.close()
        return statuses

    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            return [status for result in pool.map(worker, per_worker) for status in result]
    except OSError as error:
        raise CheckFailed(f"{url}: not reachable ({error})") from None


def edge_rate_limits(url: str, limit: int, unit: str = "Second", replicas: int = 1, host: str | None = None,
                     workers: int | None = None) -> dict:
    """Past the configured rate limit the edge answers 429 (and before it, not).

    The limit is per Envoy replica, so a burst of twice the limit times the
    replicas inside one unit must meet 429s; only a unit of a second is
    burst-tested, longer units would need minutes of traffic.
    """
    if unit != "Second":
        raise CheckFailed(f"rate limit per {unit}: a burst test needs a per-second limit")
    budget = limit * replicas
    burst = 2 * budget + 10
    workers = workers or min(64, max(16, budget // 10))
    started = time.monotonic()
    statuses = _burst_statuses(url, host, burst, workers)
    elapsed = time.monotonic() - started
    limited = statuses.count(429)
    figures = {"sent": burst, "limit": budget, "limited": limited, "seconds": round(elapsed, 2),
               "other": sorted({s for s in statuses if s not in (200, 429)})}
    if limited == 0:
        pace = "" if burst / elapsed > budget else f"; inconclusive: this client only reached {burst / elapsed:.0f}/s"
        raise CheckFailed(f"rate limit {budget}/s: no 429 among {burst} requests in {elapsed:.2f}s{pace} ({figures})")
    if figures["other"]:
        raise CheckFailed(f"rate limit: unexpected statuses {figures['other']} ({figures})")
    # a token bucket lets at least its size through before refusing; half of it is a generous floor
    if statuses.count(200) < 0.5 * min(budget, burst):
        raise CheckFailed(f"rate limit: the edge refused well before the limit of {budget}/s ({figures})")
    return figures


def prometheus_targets_up(prometheus_url: str, expected_jobs: tuple[str, ...] = (), wait_seconds: float = 0.0) -> dict:
    """Every active scrape target is up (waiting out first scrapes), and every expected job has one."""
    deadline = time.monotonic() + wait_seconds
    while True:
        targets = _json(prometheus_url.rstrip("/") + "/api/v1/targets?state=active")["data"]["activeTargets"]
        down = sorted(
            f"{t['labels'].get('job')}/{t['labels'].get('instance')}: {t.get('health')} "
            f"{t.get('lastError', '')}".strip()
            for t in targets if t.get("health") != "up"
        )
        jobs = {t["labels"].get("job") for t in targets}
        missing = sorted(set(expected_jobs) - jobs)
        if (not down and not missing and targets) or time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    if not targets:
        raise CheckFailed(f"{prometheus_url}: no active scrape targets")
    if missing:
        raise CheckFailed(f"{prometheus_url}: no targets for jobs {missing}")
    if down:
        raise CheckFailed(f"{prometheus_url}: {len(down)} of {len(targets)} targets not up: {down}")
    return {"targets": len(targets), "jobs": sorted(jobs)}


def prometheus_rules_loaded(prometheus_url: str, expected_alerts: tuple[str, ...]) -> dict:
    """Prometheus has loaded every alerting rule this platform defines, and none failed to evaluate."""
    groups = _json(prometheus_url.rstrip("/") + "/api/v1/rules")["data"]["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    loaded = {rule["name"] for rule in rules if rule.get("type") == "alerting"}
    missing = sorted(set(expected_alerts) - loaded)
    if missing:
        raise CheckFailed(f"{prometheus_url}: alerting rules not loaded: {missing}")
    broken = sorted(rule["name"] for rule in rules if rule.get("health") == "err")
    if broken:
        raise CheckFailed(f"{prometheus_url}: rules failing to evaluate: {broken}")
    return {"alerting_rules": len(loaded), "groups": len(groups)}


def alertmanager_ready(alertmanager_url: str, min_peers: int = 1, wait_seconds: float = 0.0) -> dict:
    """Alertmanager is ready and, when clustered, every replica has joined and the gossip has settled."""
    base = alertmanager_url.rstrip("/")
    status, body = _request(base + "/-/ready")
    if status != 200:
        raise CheckFailed(f"{base}/-/ready: HTTP {status}: {body[:200]!r}")
    deadline = time.monotonic() + wait_seconds
    while True:
        cluster = _json(base + "/api/v2/status").get("cluster", {})
        peers = len(cluster.get("peers") or [])
        clustered = cluster.get("status") == "ready" and peers >= min_peers
        if min_peers <= 1 or clustered or time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    if min_peers > 1 and not clustered:
        raise CheckFailed(
            f"{base}: cluster status {cluster.get('status')!r} with {peers} peer(s), expected ready with {min_peers}"
        )
    return {"cluster_status": cluster.get("status"), "peers": peers}


def elasticsearch_receiving_logs(
    es_url: str, index: str, field: str, value: str, user_env: str = "", password_env: str = "",
    max_silence_seconds: int = 600,
) -> dict:
    """Cluster health is green or yellow, and today's logs of the service are arriving."""
    headers = {"Content-Type": "application/json"}
    user, password = os.environ.get(user_env, ""), os.environ.get(password_env, "")
    if user:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    base = es_url.rstrip("/")
    health = _json(base + "/_cluster/health", headers=headers)
    if health.get("status") not in ("green", "yellow"):
        raise CheckFailed(f"{base}: cluster health {health.get('status')!r}, expected green or yellow")
    query = {
        "size": 1,
        "sort": [{"@timestamp": "desc"}],
        "track_total_hits": True,
        "query": {"bool": {"filter": [{"term": {field: value}}, {"range": {"@timestamp": {"gte": "now/d"}}}]}},
    }
    result = _json(f"{base}/{index}/_search", headers=headers, data=json.dumps(query).encode())
    hits = result.get("hits", {})
    total = hits.get("total", {}).get("value", 0)
    if not total:
        raise CheckFailed(f"{base}/{index}: no log documents with {field}={value!r} since midnight UTC")
    newest = hits["hits"][0]["_source"]["@timestamp"]
    newest_time = datetime.datetime.fromisoformat(newest.replace("Z", "+00:00"))
    age = (datetime.datetime.now(datetime.timezone.utc) - newest_time).total_seconds()
    if age > max_silence_seconds:
        raise CheckFailed(f"{base}/{index}: newest log of {value!r} is {age:.0f}s old (limit {max_silence_seconds}s)")
    return {"health": health["status"], "documents_today": total, "newest_age_seconds": round(age)}


def _instant(prometheus_url: str, query: str) -> list[dict]:
    url = prometheus_url.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode({"query": query})
    return _json(url)["data"]["result"]


def cronjob_succeeded_recently(prometheus_url: str, namespace: str, cronjob: str, max_age_seconds: int) -> dict:
    """The CronJob's last successful run is recent enough and no later run failed (kube-state-metrics)."""
    selector = f'namespace="{namespace}",cronjob="{cronjob}"'
    success = _instant(prometheus_url, f"time() - kube_cronjob_status_last_successful_time{{{selector}}}")
    if not success:
        raise CheckFailed(f"{cronjob}: no successful run recorded (kube_cronjob_status_last_successful_time absent)")
    age = float(success[0]["value"][1])
    if age > max_age_seconds:
        raise CheckFailed(f"{cronjob}: last success {age:.0f}s ago, limit {max_age_seconds}s")
    # a run scheduled after the last success that is no longer active has failed
    failed = _instant(
        prometheus_url,
        f"(kube_cronjob_status_last_schedule_time{{{selector}}}"
        f" - kube_cronjob_status_last_successful_time{{{selector}}} > 60)"
        f" and on(namespace, cronjob) (kube_cronjob_status_active{{{selector}}} == 0)",
    )
    if failed:
        raise CheckFailed(f"{cronjob}: the run scheduled after the last success did not succeed")
    return {"last_success_age_seconds": round(age), "limit_seconds": max_age_seconds}
