"""Logging setup job: converge Elasticsearch to a desired ILM policy, index template, snapshot repository and SLM policy.

Run as `python -m components.logging.retention_job [--state FILE] [--check]`.
Standard library only, so it runs in any Python 3.11+ image. Idempotent: each
object is read first and written only when missing or different, so a second
run sends GETs only. ILM and SLM are free (basic licence) features; this job
stands in for the Enterprise-only StackConfigPolicy of ECK.

Environment (credentials only ever as files, mounted from Secrets):
  ES_URL              https://elasticsearch-es-http.logging.svc:9200
  ES_CA_FILE          CA bundle that signed the HTTP certificate (required for https)
  ES_USERNAME         default `elastic`
  ES_PASSWORD_FILE    file holding the user's password
  LOGGING_SETUP_STATE desired state JSON (default for --state)
  ES_WAIT_SECONDS     how long to wait for the cluster to answer (default 900)
Exit status: 0 converged (or, with --check, nothing to change), 1 an API call
failed (the message names the call), 2 bad usage or input, 3 --check found drift.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable

#: Applied in this order: the template names the ILM policy; the SLM policy names the repository.
KINDS: tuple[tuple[str, str, str], ...] = (
    ("ilmPolicies", "ILM policy", "/_ilm/policy/{name}"),
    ("indexTemplates", "index template", "/_index_template/{name}"),
    ("snapshotRepositories", "snapshot repository", "/_snapshot/{name}"),
    ("slmPolicies", "SLM policy", "/_slm/policy/{name}"),
)
EXIT_FAILED, EXIT_USAGE, EXIT_DRIFT = 1, 2, 3


class SetupError(Exception):
    """An API call failed or answered unexpectedly; the message names the call."""


class UsageError(Exception):
    """The job was started with missing or unreadable settings."""


@dataclass
class Answer:
    status: int
    body: Any


@dataclass
class Client:
    """A minimal Elasticsearch REST client over urllib (JSON in, JSON out)."""

    base_url: str
    authorization: str | None = None
    ssl_context: ssl.SSLContext | None = None
    timeout: float = 30.0
    log: Callable[[str], None] = field(default=lambda message: print(message, flush=True))

    def call(self, method: str, path: str, body: Any = None) -> Answer:
        data = None if body is None else json.dumps(body, sort_keys=True).encode()
        request = urllib.request.Request(self.base_url.rstrip("/") + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.authorization:
            request.add_header("Authorization", self.authorization)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self.ssl_context) as response:
                return Answer(response.status, _decode(response.read()))
        except urllib.error.HTTPError as error:
            return Answer(error.code, _decode(error.read()))
        except (urllib.error.URLError, OSError) as error:
            raise SetupError(f"{method} {path} failed: {getattr(error, 'reason', error)}") from None


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def _excerpt(body: Any) -> str:
    text = body if isinstance(body, str) else json.dumps(body, sort_keys=True)
    return text if len(text) <= 400 else text[:400] + "…"


def contains(current: Any, desired: Any) -> bool:
    """True when every key and value of `desired` is in `current` (defaults Elasticsearch adds are ignored)."""
    if isinstance(desired, dict):
        return isinstance(current, dict) and all(
            key in current and contains(current[key], value) for key, value in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(current, list)
            and len(current) == len(desired)
            and all(contains(have, want) for have, want in zip(current, desired))
        )
    if isinstance(desired, bool) or isinstance(current, bool):
        return str(current).lower() == str(desired).lower()
    if isinstance(desired, (int, float)) and isinstance(current, (int, float)):
        return current == desired
    return current == desired or (current is not None and str(current) == str(desired))


def current_definition(kind: str, name: str, body: Any) -> Any:
    """The part of a GET answer that corresponds to what a PUT sends."""
    entry = (body or {}).get(name) if isinstance(body, dict) else None
    if kind == "ilmPolicies":
        return {"policy": entry.get("policy")} if entry else None
    if kind == "slmPolicies":
        return entry.get("policy") if entry else None
    if kind == "indexTemplates":
        templates = [item for item in (body or {}).get("index_templates", []) if item.get("name") == name]
        return templates[0]["index_template"] if templates else None
    return entry


def wait_until_available(client: Client, wait_seconds: float, retry_seconds: float) -> None:
    """Block until the cluster answers its health API with at least yellow; wrong credentials fail at once."""
    path = "/_cluster/health?wait_for_status=yellow&timeout=30s"
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            answer = client.call("GET", path)
        except SetupError as error:
            problem = str(error)  # not reachable yet (pods starting, DNS, TLS not served yet)
        else:
            if answer.status == 200 and isinstance(answer.body, dict) and answer.body.get("status") in ("yellow", "green"):
                client.log(f"cluster health: {answer.body['status']}")
                return
            if answer.status in (401, 403):
                raise SetupError(f"GET {path} answered {answer.status}: {_excerpt(answer.body)}")
            problem = f"GET {path} answered {answer.status}: {_excerpt(answer.body)}"
        if time.monotonic() >= deadline:
            raise SetupError(f"cluster not available after {wait_seconds:.0f}s: {problem}")
        client.log(f"waiting for the cluster: {problem}")
        time.sleep(retry_seconds)


def converge(client: Client, state: dict[str, Any], check_only: bool = False) -> list[str]:
    """Apply every object of `state` that is missing or different; return what changed (or would)."""
    changes = []
    for kind, label, template in KINDS:
        for name, definition in sorted((state.get(kind) or {}).items()):
            path = template.format(name=urllib.parse.quote(name, safe=""))
            answer = client.call("GET", path)
            if answer.status == 200:
                if contains(current_definition(kind, name, answer.body), definition):
                    client.log(f"{label} {name}: unchanged")
                    continue
                action = "updated"
            elif answer.status == 404:
                action = "created"
            else:
                raise SetupError(f"GET {path} answered {answer.status}: {_excerpt(answer.body)}")
            changes.append(f"{label} {name}: {action}")
            if check_only:
                client.log(f"{label} {name}: would be {action}")
                continue
            answer = client.call("PUT", path, definition)
            if answer.status != 200 or not (isinstance(answer.body, dict) and answer.body.get("acknowledged")):
                raise SetupError(f"PUT {path} answered {answer.status}: {_excerpt(answer.body)}")
            client.log(f"{label} {name}: {action}")
    return changes


def client_from_environment(environ: dict[str, str]) -> Client:
    url = environ.get("ES_URL", "")
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise UsageError(f"ES_URL must be an http(s) URL, got {url!r}")
    context = None
    if parsed.scheme == "https":
        ca_file = environ.get("ES_CA_FILE")
        if not ca_file:
            raise UsageError("ES_CA_FILE is required for an https ES_URL (the job never skips certificate checks)")
        try:
            context = ssl.create_default_context(cafile=ca_file)
        except (OSError, ssl.SSLError) as error:
            raise UsageError(f"ES_CA_FILE {ca_file!r} is not a readable CA bundle: {error}") from None
    authorization = None
    password_file = environ.get("ES_PASSWORD_FILE")
    if password_file:
        try:
            with open(password_file, encoding="utf-8") as handle:
                password = handle.read().strip()
        except OSError as error:
            raise UsageError(f"ES_PASSWORD_FILE {password_file!r} is not readable: {error.strerror}") from None
        user = environ.get("ES_USERNAME", "elastic")
        authorization = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    timeout = float(environ.get("ES_TIMEOUT_SECONDS", "30"))
    return Client(base_url=url, authorization=authorization, ssl_context=context, timeout=timeout)


def load_state(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            state = json.load(handle)
    except (OSError, ValueError) as error:
        raise UsageError(f"desired state {path!r} is not readable JSON: {error}") from None
    if not isinstance(state, dict):
        raise UsageError(f"desired state {path!r} must be a JSON object")
    unknown = set(state) - {kind for kind, _, _ in KINDS}
    if unknown:
        raise UsageError(f"desired state {path!r} has unknown sections {sorted(unknown)}")
    return state


def main(argv: list[str] | None = None, environ: dict[str, str] | None = None) -> int:
    environ = dict(os.environ if environ is None else environ)
    parser = argparse.ArgumentParser(prog="python -m components.logging.retention_job", description=__doc__.splitlines()[0])
    parser.add_argument("--state", default=environ.get("LOGGING_SETUP_STATE"), help="desired state JSON file")
    parser.add_argument("--check", action="store_true", help="report drift without changing anything (exit 3 on drift)")
    args = parser.parse_args(argv)
    try:
        if not args.state:
            raise UsageError("no desired state: pass --state FILE or set LOGGING_SETUP_STATE")
        state = load_state(args.state)
        client = client_from_environment(environ)
        wait_until_available(
            client, float(environ.get("ES_WAIT_SECONDS", "900")), float(environ.get("ES_RETRY_SECONDS", "10"))
        )
        changes = converge(client, state, check_only=args.check)
    except UsageError as error:
        print(f"logging setup: {error}", file=sys.stderr)
        return EXIT_USAGE
    except SetupError as error:
        print(f"logging setup failed: {error}", file=sys.stderr)
        return EXIT_FAILED
    if args.check and changes:
        print(f"logging setup: {len(changes)} object(s) differ from the desired state", file=sys.stderr)
        return EXIT_DRIFT
    print(f"logging setup: converged ({len(changes)} change(s))", flush=True)
    return 0

