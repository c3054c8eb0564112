"""nca imported once per process (a `render --all` worker): the same answers as a run of its own, nothing left running."""

from __future__ import annotations

import copy
import signal
import subprocess
import time

import pytest

from tests.integration.security.test_connectivity import inputs, policy
from wfdeploy.render.gates import connectivity as gate
from wfdeploy.render.gates.preimported import LauncherGone, PreimportedTool

pytestmark = pytest.mark.integration


@pytest.fixture
def preimported(monkeypatch):
    """The gate with a started nca, run_tool refused: every run must go through the one imported nca."""
    def no_own_process(command, **kwargs):
        raise AssertionError(f"nca started as its own process: {command}")

    monkeypatch.setattr(gate, "run_tool", no_own_process)
    gate.start_nca()
    yield gate._preimported
    gate.stop_nca()


def test_the_preimported_nca_finds_what_its_own_process_finds(rendered, preimported):
    objects, flows, owned, charts = inputs(rendered["production"])
    assert gate.check_connectivity(objects, flows, owned, charts) == []
    broken = copy.deepcopy(objects)
    allow = policy(broken, "workflow", "allow-workflow-service")
    allow["spec"]["ingress"] = [rule for rule in allow["spec"]["ingress"] if "envoy" not in str(rule)]
    failures = gate.check_connectivity(broken, flows, owned, charts)  # a second run in the same launcher
    assert [f.subject for f in failures] == ["envoy-gateway-system/envoy-proxy -> workflow/workflow-service TCP/8080"]


def test_a_run_gets_its_own_environment_exit_code_and_error_output(tmp_path, preimported):
    completed = preimported.run(["--connectivity", str(tmp_path / "missing")], cwd=tmp_path,
                                env={"PATH": "/nowhere", "HOME": str(tmp_path)}, timeout=60)
    assert completed.returncode != 0
    assert "missing" in completed.stderr


def test_stop_ends_the_launcher(preimported):
    process = preimported.process
    gate.stop_nca()
    assert process.poll() is not None and gate._preimported is None


def test_a_run_past_its_timeout_kills_the_launcher_and_its_run(rendered, monkeypatch):
    runs = []
    real_run = PreimportedTool.run

    def run_with_a_short_timeout(self, argv, *, cwd, env, timeout):
        runs.append(self.process)
        return real_run(self, argv, cwd=cwd, env=env, timeout=0.05)  # a whole analysis takes a few tenths

    monkeypatch.setattr(PreimportedTool, "run", run_with_a_short_timeout)
    gate.start_nca()
    try:
        failures = gate.check_connectivity(*inputs(rendered["production"]))
    finally:
        gate.stop_nca()
    (failure,) = failures
    assert failure.subject == "network-config-analyzer" and failure.problem.endswith("timed out after 0.05 seconds")
    (launcher,) = runs
    assert launcher.poll() == -signal.SIGKILL


def test_a_launcher_that_has_gone_is_replaced_by_a_process_of_its_own(rendered, monkeypatch):
    calls = []
    real_run = gate.run_tool
    monkeypatch.setattr(gate, "run_tool", lambda command, **kwargs: calls.append(command) or real_run(command, **kwargs))
    gate.start_nca()
    gate._preimported.kill()
    with pytest.raises(LauncherGone):
        gate._preimported.run(["--help"], cwd=gate.NCA.parent, env={}, timeout=10)
    assert gate.check_connectivity(*inputs(rendered["local"])) == []
    assert len(calls) == 1 and gate._preimported is None
