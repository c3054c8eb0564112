"""Release records and the local tier's state: read through one schema, checked before anything changes, never lost."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest

from tests.fakeautomation import healthy
from wfdeploy.cli import main
from wfdeploy.promotion import automation as boundary
from wfdeploy.promotion.records import Entry, RecordsError, RecordStore

IMAGE = "ghcr.io/example/workflow-service:1.5.0@sha256:" + "a" * 64
CHANGES = ("set_config", "unset_config", "preview", "up", "verify")


def records_file(stage: str = "alpha") -> Path:
    return Path(os.environ["WFDEPLOY_RECORDS_DIR"]) / f"{stage}.json"


def entry(n: int = 0, stage: str = "alpha", event: str = "verified") -> Entry:
    return Entry(stage=stage, event=event, release={"id": f"r-{n:016x}"}, source=f"writer-{n}")


def valid_document() -> dict:
    return {"stage": "alpha", "entries": [{"stage": "alpha", "event": "verified", "release": {"id": "r-1"}, "source": "t"}]}


@pytest.fixture
def cli(monkeypatch):
    fake = healthy("alpha", "staging")
    monkeypatch.setattr(boundary, "default_automation", lambda: fake)
    return fake


# -- item 16: one schema, a clear error naming the file ------------------------------------------------------

BROKEN_RECORDS = {
    "truncated": ('{"stage": "alpha", "entries": [{"stage": "al', "not valid JSON"),
    "empty file": ("", "not valid JSON"),
    "a JSON list": ("[]", "$: expected an object, found a list"),
    "entries missing": ('{"stage": "alpha"}', "$.entries: missing"),
    "entries not a list": ('{"entries": {"a": 1}}', "$.entries: expected a list"),
    "entry not an object": ('{"entries": [3]}', "$.entries[0]: expected an object"),
    "event unknown": (json.dumps({"entries": [{**valid_document()["entries"][0], "event": "exploded"}]}),
                      "$.entries[0].event: 'exploded' is not one of"),
    "release a string": (json.dumps({"entries": [{**valid_document()["entries"][0], "release": "r-1"}]}),
                         "$.entries[0].release: expected an object"),
    "release without id": (json.dumps({"entries": [{**valid_document()["entries"][0], "release": {}}]}),
                           "$.entries[0].release.id: missing"),
    "stack_config value a number": (
        json.dumps({"entries": [{**valid_document()["entries"][0], "stack_config": {"k": 3}}]}),
        "$.entries[0].stack_config['k']: expected a string"),
    "another stage's file": (json.dumps({**valid_document(), "stage": "staging"}), "records file of 'alpha'"),
    "not UTF-8": (b'{"entries": ["\xff"]}', "not UTF-8"),
}


@pytest.mark.parametrize("content, expected", BROKEN_RECORDS.values(), ids=BROKEN_RECORDS.keys())
@pytest.mark.parametrize(
    "argv",
    [["rollback", "alpha", "--list"], ["rollback", "alpha"], ["promote", "checkout", "alpha", "--image", IMAGE]],
    ids=["rollback --list", "rollback", "promote"],
)
def test_a_broken_records_file_is_refused_naming_it_and_nothing_changes(cli, capsys, argv, content, expected):
    path = records_file()
    path.parent.mkdir(parents=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    before = path.read_bytes()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert str(path) in err and expected in err and "Traceback" not in err
    assert cli.names(*CHANGES) == []
    assert path.read_bytes() == before
    assert not (Path(os.environ["WFDEPLOY_BUILD_DIR"])).exists()


def test_fields_a_newer_version_added_are_tolerated_and_kept_on_append():
    path = records_file()
    path.parent.mkdir(parents=True)
    document = valid_document()
    document["entries"][0]["signedBy"] = "ci@example.com"
    document["entries"][0]["release"]["sbom"] = "sha256:1"
    document["schemaVersion"] = 2
    path.write_text(json.dumps(document))
    store = RecordStore()
    assert [e.release_id for e in store.verified("alpha")] == ["r-1"]
    store.append(entry(2))
    kept = json.loads(path.read_text())["entries"]
    assert kept[0]["signedBy"] == "ci@example.com" and kept[0]["release"]["sbom"] == "sha256:1"
    assert [e["release"]["id"] for e in kept] == ["r-1", entry(2).release_id]


def test_a_rollback_target_whose_release_cannot_be_read_is_refused_naming_the_records(cli, capsys):
    path = records_file()
    path.parent.mkdir(parents=True)
    document = valid_document()
    document["entries"][0]["stack_config"] = {"workflow-platform:images": "{not json"}
    path.write_text(json.dumps(document))
    assert main(["rollback", "alpha", "--list"]) == 0  # listing a stored entry never needs its config
    assert main(["rollback", "alpha"]) == 2
    err = capsys.readouterr().err
    assert "records/alpha.json" in err and "Traceback" not in err
    assert cli.names(*CHANGES) == []


# -- item 14: everything promotion writes is checked before anything changes ----------------------------------

def test_promotion_with_a_truncated_records_file_changes_nothing(cli, capsys):
    path = records_file()
    path.parent.mkdir(parents=True)
    path.write_text('{"stage": "alpha", "entries": [')
    assert main(["promote", "checkout", "alpha", "--image", IMAGE]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert cli.names(*CHANGES, "pulumi_version") == []  # not even preflight ran


def test_promotion_with_a_records_folder_that_cannot_be_written_changes_nothing(cli, capsys, monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the records folder should be\n")
    monkeypatch.setenv("WFDEPLOY_RECORDS_DIR", str(blocker / "records"))
    assert main(["promote", "checkout", "alpha", "--image", IMAGE]) == 2
    err = capsys.readouterr().err
    assert str(blocker / "records") in err and "Not a directory" in err and "Traceback" not in err
    assert cli.names(*CHANGES) == []


def test_promotion_into_a_read_only_records_folder_changes_nothing(cli, capsys, monkeypatch):
    records_file().parent.mkdir(parents=True)

    def read_only(*_args, **_kwargs):  # what a read-only folder answers (these tests run as root, who may write anyway)
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("wfdeploy.jsonfile.tempfile.NamedTemporaryFile", read_only)
    assert main(["promote", "checkout", "alpha", "--image", IMAGE]) == 2
    err = capsys.readouterr().err
    assert f"{records_file().parent}: cannot write there (Permission denied)" in err
    assert cli.names(*CHANGES, "pulumi_version") == []


def test_promotion_with_writable_records_goes_ahead_and_records_it(cli):
    assert main(["promote", "checkout", "alpha", "--image", IMAGE]) == 0
    assert [e.event for e in RecordStore().history("alpha")] == ["deployed", "verified"]


def test_a_failed_write_leaves_the_previous_records_whole_and_no_temporary_file(monkeypatch):
    store = RecordStore()
    store.append(entry(1))
    before = records_file().read_text()

    def crash(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("wfdeploy.jsonfile.os.replace", crash)
    with pytest.raises(RecordsError, match="No space left on device"):
        store.append(entry(2))
    assert records_file().read_text() == before
    assert sorted(p.name for p in records_file().parent.iterdir()) == [".alpha.json.lock", "alpha.json"]


# -- item 15: concurrent writers lose nothing ----------------------------------------------------------------

def _append_many(directory: str, writer: int, count: int) -> None:
    store = RecordStore(Path(directory))
    for n in range(count):
        store.append(entry(writer * 1000 + n))


def test_300_concurrent_appends_from_six_processes_keep_all_300_entries(tmp_path):
    directory = tmp_path / "records"
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_append_many, args=(str(directory), writer, 50)) for writer in range(6)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(120)
    assert [process.exitcode for process in writers] == [0] * 6
    entries = RecordStore(directory).history("alpha")
    assert len(entries) == 300
    assert {e.source for e in entries} == {f"writer-{w * 1000 + n}" for w in range(6) for n in range(50)}
    assert not list(directory.glob("*.tmp"))


# -- the local tier's state.json: same schema reading -------------------------------------------------------

BROKEN_STATE = {
    "truncated": '{"stage": "local", "pods": [',
    "a JSON list": "[]",
    "pods not a list": '{"stage": "local", "pods": "workflow"}',
    "pod without a name": '{"stage": "local", "pods": [{"file": "x.yaml"}]}',
    "job without exit code": '{"stage": "local", "jobs": [{"pod": "p", "source": "s"}]}',
    "secrets of numbers": '{"stage": "local", "secrets": [1, 2]}',
    "another stage's state": '{"stage": "alpha"}',
}


@pytest.mark.parametrize("content", BROKEN_STATE.values(), ids=BROKEN_STATE.keys())
@pytest.mark.parametrize("argv, code", [(["down", "local"], 1), (["verify", "local"], 2)], ids=["down", "verify"])
def test_a_broken_local_tier_state_is_refused_naming_the_file(capsys, argv, code, content):
    path = Path(os.environ["WFDEPLOY_BUILD_DIR"]) / "local-tier" / "local" / "state.json"
    path.parent.mkdir(parents=True)
    path.write_text(content)
    assert main(argv) == code
    err = capsys.readouterr().err
    assert str(path) in err and "Traceback" not in err
    assert path.read_text() == content


def test_local_tier_state_round_trips_and_tolerates_fields_of_a_newer_version():
    from wfdeploy.local.tier import STATE_FILE, TierState, state_dir

    state = TierState(stage="local", pods=[{"name": "workflow"}], secrets=["s"],
                      jobs=[{"pod": "p", "source": "s", "exit_code": None, "attempts": 1, "seconds": 2.5, "log_file": "l"}])
    state.save()
    raw = json.loads((state_dir("local") / STATE_FILE).read_text())
    raw["networks"] = ["wf-net"]
    raw["jobs"][0]["node"] = "n1"
    (state_dir("local") / STATE_FILE).write_text(json.dumps(raw))
    loaded = TierState.load("local")
    assert loaded.pods == [{"name": "workflow"}] and loaded.job_runs[0].seconds == 2.5


def test_a_record_that_cannot_be_written_after_the_change_says_the_stage_changed(cli, capsys, monkeypatch):
    real_append = RecordStore.append

    def append_fails_after_up(self, entry):
        if entry.event == "verified":
            raise RecordsError(f"{self.path(entry.stage)}: cannot be written (No space left on device)")
        real_append(self, entry)

    monkeypatch.setattr(RecordStore, "append", append_fails_after_up)
    assert main(["promote", "checkout", "alpha", "--image", IMAGE]) == 1
    err = capsys.readouterr().err
    assert "the stage was changed but the record of it could not be written" in err and "No space left" in err
    assert "nothing was changed" not in err
