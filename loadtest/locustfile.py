"""Locust scenario for the workflow API: users create workflows, then read, run and list them.

`wfdeploy loadtest STAGE` runs it headless; the request mix comes from the
stage's `verification.loadTest.requestMix` through WFDEPLOY_LOADTEST_MIX
(JSON weights per operation) and the pause from WFDEPLOY_LOADTEST_THINK_SECONDS.
"""

from __future__ import annotations

import json
import os
import random

from locust import HttpUser, between

DEFAULT_MIX = '{"getWorkflow": 6, "runWorkflow": 2, "listWorkflows": 1, "createWorkflow": 1}'
MIX = json.loads(os.environ.get("WFDEPLOY_LOADTEST_MIX") or DEFAULT_MIX)
THINK = float(os.environ.get("WFDEPLOY_LOADTEST_THINK_SECONDS", "1.0"))
#: Workflows each user creates before its weighted tasks start (reads then find them cached).
SEED_WORKFLOWS = 3


class WorkflowUser(HttpUser):
    wait_time = between(THINK * 0.5, THINK * 1.5)

    def on_start(self) -> None:
        self.workflow_ids: list[str] = []
        for _ in range(SEED_WORKFLOWS):
            self.create_workflow()

    def _any_id(self) -> str | None:
        return random.choice(self.workflow_ids) if self.workflow_ids else None

    def create_workflow(self) -> None:
        request = self.client.post("/workflows", json={"name": "loadtest"}, name="POST /workflows", catch_response=True)
        with request as response:
            if response.status_code == 201:
                self.workflow_ids.append(response.json()["id"])
                response.success()
            else:
                response.failure(f"HTTP {response.status_code}")

    def get_workflow(self) -> None:
        workflow_id = self._any_id()
        if workflow_id:
            self.client.get(f"/workflows/{workflow_id}", name="GET /workflows/{id}")

    def run_workflow(self) -> None:
        workflow_id = self._any_id()
        if workflow_id:
            self.client.post(f"/workflows/{workflow_id}/run", name="POST /workflows/{id}/run")

    def list_workflows(self) -> None:
        self.client.get("/workflows", name="GET /workflows")

    _OPERATIONS = {
        "getWorkflow": get_workflow,
        "runWorkflow": run_workflow,
        "listWorkflows": list_workflows,
        "createWorkflow": create_workflow,
    }
    tasks = {operation: MIX.get(name, 0) for name, operation in _OPERATIONS.items() if MIX.get(name, 0) > 0}
