"""A recording stand-in for the Elasticsearch REST API on 127.0.0.1 (Elasticsearch itself cannot run here).

It keeps what is PUT and answers GETs the way Elasticsearch 8/9 does, including
what Elasticsearch adds on its own (policy versions, default action options,
data stream flags), so the job's comparison is tested against realistic answers.
Every request is recorded with its method, path, body and Authorization header.
"""

from __future__ import annotations

import copy
import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    body: Any
    authorization: str | None


@dataclass
class FakeElasticsearch:
    """In-memory ILM/template/repository/SLM store; `failures` forces an answer for (method, path)."""

    health: str = "green"
    failures: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    ilm: dict[str, dict] = field(default_factory=dict)
    templates: dict[str, dict] = field(default_factory=dict)
    repositories: dict[str, dict] = field(default_factory=dict)
    slm: dict[str, dict] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    scheme: str = "http"

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self, ssl_context: ssl.SSLContext | None = None) -> "FakeElasticsearch":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                fake.requests.append(Recorded(self.command, self.path, body, self.headers.get("Authorization")))
                status, answer = fake.answer(self.command, self.path, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = _handle  # noqa: N815

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if ssl_context is not None:
            self._server.socket = ssl_context.wrap_socket(self._server.socket, server_side=True)
            self.scheme = "https"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{self.scheme}://{'localhost' if self.scheme == 'https' else host}:{port}"

    def calls(self) -> list[tuple[str, str]]:
        return [(request.method, request.path) for request in self.requests]

    # -- the API -------------------------------------------------------------------------------
    def answer(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if (method, path) in self.failures:
            return self.failures[(method, path)]
        route = urlsplit(path).path
        if route == "/_cluster/health" and method == "GET":
            return 200, {"cluster_name": "elasticsearch", "status": self.health, "number_of_nodes": 1}
        for prefix, store, show in (
            ("/_ilm/policy/", self.ilm, self._show_ilm),
            ("/_index_template/", self.templates, self._show_template),
            ("/_snapshot/", self.repositories, self._show_repository),
            ("/_slm/policy/", self.slm, self._show_slm),
        ):
            if route.startswith(prefix):
                name = unquote(route[len(prefix):])
                if method == "GET":
                    if name not in store:
                        return 404, {"error": {"type": "resource_not_found_exception", "reason": f"{name} missing"}, "status": 404}
                    return 200, show(name, store[name])
                if method == "PUT":
                    store[name] = {"body": copy.deepcopy(body), "version": store.get(name, {}).get("version", 0) + 1}
                    return 200, {"acknowledged": True}
        return 400, {"error": {"type": "illegal_argument_exception", "reason": f"no handler for {method} {route}"}}

    @staticmethod
    def _show_ilm(name: str, stored: dict) -> dict:
        policy = copy.deepcopy(stored["body"]["policy"])
        delete = policy.get("phases", {}).get("delete", {}).get("actions", {}).get("delete")
        if delete is not None:
            delete.setdefault("delete_searchable_snapshot", True)  # a default Elasticsearch fills in
        return {name: {"version": stored["version"], "modified_date": "2026-01-01T00:00:00.000Z", "policy": policy, "in_use_by": {}}}

    @staticmethod
    def _show_template(name: str, stored: dict) -> dict:
        template = copy.deepcopy(stored["body"])
        if "data_stream" in template:
            template["data_stream"] = {"hidden": False, "allow_custom_routing": False, **template["data_stream"]}
        return {"index_templates": [{"name": name, "index_template": template}]}

    @staticmethod
    def _show_repository(name: str, stored: dict) -> dict:
        repository = copy.deepcopy(stored["body"])
        repository["settings"] = {key: str(value).lower() if isinstance(value, bool) else str(value) for key, value in repository.get("settings", {}).items()}
        return {name: repository}

    @staticmethod
    def _show_slm(name: str, stored: dict) -> dict:
        return {
            name: {
                "version": stored["version"],
                "modified_date_millis": 1767225600000,
                "policy": copy.deepcopy(stored["body"]),
                "next_execution_millis": 1767311400000,
                "stats": {"snapshots_taken": 0},
            }
        }
