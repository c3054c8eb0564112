"""JSON files this tool keeps (release records, the local tier's state): read through a schema, written atomically.

Reading checks every field against its expected type and refuses the file
with its path and what was expected; fields this version does not know (a
newer version added them) are kept, never an error. Writing goes to a unique
temporary file in the same folder, fsynced and renamed into place, so a
reader sees the old file or the new one; `locked` serialises writers.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping


class StoredFileError(Exception):
    """A kept file cannot be read or written; the message names the file and what was expected."""


@dataclass(frozen=True)
class Field:
    """One field of a stored object: its JSON type(s), whether it must be there, what a value must look like."""

    types: tuple[type, ...]
    required: bool = False
    #: for a list or mapping: the type every item (every value) must have
    items: tuple[type, ...] | None = None
    choices: tuple[str, ...] | None = None


_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list",
               dict: "an object", type(None): "null"}


def _expected(types: tuple[type, ...]) -> str:
    return " or ".join(_TYPE_NAMES.get(kind, kind.__name__) for kind in types)


def _is(value: Any, types: tuple[type, ...]) -> bool:
    # JSON true is not an integer here, though Python's bool is an int
    return isinstance(value, types) and not (isinstance(value, bool) and bool not in types)


def check_object(value: Any, schema: Mapping[str, Field], where: str) -> list[str]:
    """Problems of one object against its schema, each naming the field (`where` prefixes them)."""
    if not isinstance(value, dict):
        return [f"{where}: expected an object, found {_describe(value)}"]
    problems = []
    for name, spec in schema.items():
        if name not in value:
            if spec.required:
                problems.append(f"{where}.{name}: missing (expected {_expected(spec.types)})")
            continue
        item = value[name]
        if not _is(item, spec.types):
            problems.append(f"{where}.{name}: expected {_expected(spec.types)}, found {_describe(item)}")
        elif spec.choices is not None and item not in spec.choices:
            problems.append(f"{where}.{name}: {item!r} is not one of {', '.join(spec.choices)}")
        elif spec.items is not None:
            members = item.items() if isinstance(item, dict) else enumerate(item)
            for key, member in members:
                if not _is(member, spec.items):
                    expected = _expected(spec.items)
                    problems.append(f"{where}.{name}[{key!r}]: expected {expected}, found {_describe(member)}")
    return problems


def check_objects(values: list[Any], schema: Mapping[str, Field], where: str) -> list[str]:
    """`check_object` for every item of a list, each named by its index."""
    return [found for i, value in enumerate(values) for found in check_object(value, schema, f"{where}[{i}]")]


def _describe(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return f"{_TYPE_NAMES[type(value)]} of {len(value)}"
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:40] + "…"


def read_json(path: Path) -> Any | None:
    """The file's JSON document, None when there is no file; StoredFileError when it cannot be read or parsed."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise StoredFileError(f"{path}: cannot be read ({error.strerror or error})") from None
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise StoredFileError(f"{path}: not UTF-8 (byte {error.start}); expected a JSON document") from None
    except json.JSONDecodeError as error:
        raise StoredFileError(
            f"{path}: corrupted, not valid JSON ({error.msg} at line {error.lineno} column {error.colno}); "
            "restore it from the copy beside the Pulumi state (scripts/records-sync pull) or from a backup"
        ) from None


def check_writable(directory: Path) -> None:
    """Refuse now, before anything changes, when a file cannot be written into `directory` (created if missing)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".probe-", suffix=".tmp"):
            pass
    except OSError as error:
        raise StoredFileError(f"{directory}: cannot write there ({error.strerror or error})") from None


def write_json_atomic(path: Path, document: Any) -> None:
    """Write `document` to `path` so that a crash leaves the old file or the new one, never half of either."""
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # a unique name: two writers never share (and truncate) one temporary file
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        _fsync_directory(path.parent)
    except OSError as error:
        raise StoredFileError(f"{path}: cannot be written ({error.strerror or error})") from None


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `.<name>.lock` beside `path` (writers wait for each other, across processes)."""
    lock_path = path.with_name(f".{path.name}.lock")
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        reason = error.strerror or error
        raise StoredFileError(f"{lock_path}: cannot be opened to lock {path.name} ({reason})") from None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock
