"""The README's two commands, played by a new user on a stock Debian 12 machine (see machine.py).

The first command must set everything up from Debian's mirror and the public package index alone
and pass every gate of every stage; the second runs the suite on that machine, except the tests
that would start such machines inside it (NOT_NESTED, listed in the README).
"""

from __future__ import annotations

import re

import pytest

from tests.docs.markdown import section_text, tables
from tests.fresh_machine.machine import README, FreshMachine, readme_commands
from wfdeploy.render.gates import GATES
from wfdeploy.stages import known_stages

pytestmark = pytest.mark.integration

#: Tests that cannot run inside the fresh machine's container, and why (the README repeats this).
NOT_NESTED = {
    "tests/fresh_machine/test_readme_commands.py": "would start this machine again inside itself",
    "tests/fresh_machine/test_debian_13.py": "would start a Debian 13 machine inside this one",
    "tests/e2e": "needs Go, which the fresh machine has not, for the toolchain and the substitutes' tests",
}

_STAGE = re.compile(r"^(?P<stage>[\w-]+): \d+ resources -> ", re.M)
_GATE = re.compile(r"^  (?P<verdict>ok  |FAIL) (?P<gate>[\w-]+)", re.M)


def gate_verdicts(output: str) -> dict[str, dict[str, str]]:
    """stage -> gate -> 'ok' or 'FAIL', from `wfdeploy render --all` output (a stage's gates follow its line)."""
    verdicts: dict[str, dict[str, str]] = {}
    stage = None
    for line in output.splitlines():
        if header := _STAGE.match(line):
            stage = header["stage"]
            verdicts[stage] = {}
        elif (gate := _GATE.match(line)) and stage is not None:
            verdicts[stage][gate["gate"]] = gate["verdict"].strip()
    return verdicts


def test_gate_verdicts_reads_every_stage_and_gate():
    output = ("creating .venv from requirements/main.lock\n"
              "alpha: 10 resources -> /work/build/alpha (1.0s)\n  ok   k8s-schemas\n  ok   checkov\n"
              "local: 9 resources -> /work/build/local (1.0s)\n  ok   k8s-schemas\n  FAIL checkov: 1 problem(s)\n")
    assert gate_verdicts(output) == {"alpha": {"k8s-schemas": "ok", "checkov": "ok"},
                                     "local": {"k8s-schemas": "ok", "checkov": "FAIL"}}


@pytest.fixture(scope="module")
def machine(tmp_path_factory):
    machine = FreshMachine.create(tmp_path_factory.mktemp("fresh-machine"))
    yield machine
    machine.remove()


def test_readme_first_command_sets_up_a_stock_debian_12_machine_and_passes_every_gate(machine, tmp_path):
    first, _ = readme_commands()
    run = machine.run(first, tmp_path / "first.log", timeout=45 * 60)
    print(f"fresh machine: `{first}` exited {run.returncode} in {run.seconds:.0f}s "
          f"({'warm' if run.warm else 'cold'} download caches)")
    tail = "\n".join(run.output.splitlines()[-40:])
    assert run.returncode == 0, f"`{first}` exited {run.returncode} on a fresh Debian 12 machine:\n{tail}"
    verdicts = gate_verdicts(run.output)
    gates = set(GATES)
    expected = {stage: dict.fromkeys(sorted(gates), "ok") for stage in known_stages()}
    assert verdicts == expected, f"every gate of every stage should print ok:\n{tail}"


def test_readme_second_command_runs_the_suite_on_that_machine(machine, tmp_path):
    _, second = readme_commands()
    # the README's test command takes pytest's arguments: leave out what cannot run nested
    command = " ".join([second, "-q", "-p", "no:cacheprovider", *(f"--ignore={path}" for path in NOT_NESTED)])
    # privileged, as root on a machine is: the local tier runs podman and the verification sandbox makes
    # namespaces; a network of its own, so the suite's servers on 127.0.0.1 and the tier's ports meet no one else's
    run = machine.run(command, tmp_path / "second.log", timeout=60 * 60, network="podman", privileged=True)
    print(f"fresh machine: `{command}` exited {run.returncode} in {run.seconds:.0f}s "
          f"({'warm' if run.warm else 'cold'} download caches)")
    tail = "\n".join(run.output.splitlines()[-60:])
    assert run.returncode == 0, f"`{command}` exited {run.returncode} on a fresh Debian 12 machine:\n{tail}"
    summary = run.output.strip().splitlines()[-1]
    assert re.search(r"\b\d{3,} passed\b", summary) and not re.search(r"\b(failed|error)", summary), summary


def test_the_readme_names_every_test_left_out_of_the_nested_run_and_why():
    table = next(rows for rows in tables(section_text(README, "A new user's machine"))
                 if rows[0][0] == "tests")
    assert {row[0].strip("`") for row in table[1:]} == set(NOT_NESTED)
