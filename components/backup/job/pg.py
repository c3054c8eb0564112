"""PostgreSQL work through the client tools (psql, pg_dump, pg_restore) and the libpq variables.

Using the client binaries keeps the job image free of a Python driver and
guarantees the dump format matches the tools an operator restores with.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import subprocess
import threading
from collections.abc import Iterable
from pathlib import Path

from .manifest import DatabaseStats, TableStats


class DatabaseError(Exception):
    """The database refused or could not be reached; the message says which."""


#: Fixed output settings, so a row's text (and hence its hash) is the same on any server or session.
SESSION_SETTINGS = (
    "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; "
    "SET extra_float_digits = 1; SET bytea_output = 'hex'; SET client_min_messages = warning;"
)

#: Per table: row count and the sum of each row's 64-bit text hash (order-independent). hashtextextended is
#: the hash behind hash partitioning, so PostgreSQL keeps it stable across versions and platforms.
STATS_SQL = r"""
SELECT json_build_object(
  'tables', coalesce((
    SELECT json_object_agg(name, json_build_object('rows', rows, 'hash', hash) ORDER BY name)
    FROM (
      SELECT format('%I.%I', n.nspname, c.relname) AS name,
             (xpath('/row/r/text()', x))[1]::text::bigint AS rows,
             (xpath('/row/h/text()', x))[1]::text AS hash
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      CROSS JOIN LATERAL query_to_xml(format(
        'SELECT count(*) AS r, coalesce(sum(hashtextextended(t::text, 0)), 0)::text AS h'
        ' FROM %I.%I AS t', n.nspname, c.relname), false, true, '') AS x
      WHERE c.relkind = 'r'
        AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname NOT LIKE 'pg\_%'
    ) AS per_table), '{}'::json),
  'sequences', coalesce((
    SELECT json_object_agg(format('%I.%I', schemaname, sequencename), last_value ORDER BY schemaname, sequencename)
    FROM pg_sequences WHERE schemaname NOT IN ('pg_catalog', 'information_schema')), '{}'::json)
);
"""

#: Sequences owned by a column (serial, identity) whose position is behind the column's largest value.
SEQUENCES_BEHIND_SQL = r"""
SELECT coalesce(json_agg(behind ORDER BY behind), '[]'::json) FROM (
  SELECT format('%s at %s, but %s.%s holds %s', seq, coalesce(last_value::text, 'unused'), tab, col, max_value) AS behind
  FROM (
    SELECT format('%I.%I', sn.nspname, sc.relname) AS seq, ps.last_value, ps.increment_by,
           format('%I.%I', tn.nspname, tc.relname) AS tab, a.attname AS col,
           (xpath('/row/m/text()', query_to_xml(format('SELECT max(%I) AS m FROM %I.%I', a.attname, tn.nspname,
             tc.relname), false, true, '')))[1]::text::numeric AS max_value
    FROM pg_depend d
    JOIN pg_class sc ON sc.oid = d.objid AND sc.relkind = 'S'
    JOIN pg_namespace sn ON sn.oid = sc.relnamespace
    JOIN pg_class tc ON tc.oid = d.refobjid
    JOIN pg_namespace tn ON tn.oid = tc.relnamespace
    JOIN pg_attribute a ON a.attrelid = tc.oid AND a.attnum = d.refobjsubid
    JOIN pg_sequences ps ON ps.schemaname = sn.nspname AND ps.sequencename = sc.relname
    WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
  ) AS owned
  WHERE increment_by > 0 AND max_value IS NOT NULL AND (last_value IS NULL OR last_value < max_value)
) AS problems;
"""

_END = "__wf_backup_end__"


def tool(pg_bin: str, name: str) -> str:
    return str(Path(pg_bin) / name) if pg_bin else name


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return "; ".join(lines[:3]) or "no message"


def conninfo(database: str) -> str:
    """`dbname='…'` for `-d`: a bare name containing `=` would be read by libpq as a whole connection string."""
    return "dbname='" + database.replace("\\", "\\\\").replace("'", "\\'") + "'"


class PsqlSession:
    """One psql process kept open, fed statements one at a time (holds a transaction across calls).

    Without `database` it connects to PGDATABASE (libpq takes an environment value as a name, never expands it).
    """

    def __init__(self, pg_bin: str, database: str | None = None):
        args = [tool(pg_bin, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
        if database:
            args += ["-d", conninfo(database)]
        try:
            self._process = subprocess.Popen(
                args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        except FileNotFoundError:
            raise DatabaseError(f"psql not found (BACKUP_PG_BIN={pg_bin!r})") from None
        # drained in the background: warnings must never fill the pipe and stall psql
        self._stderr: collections.deque[str] = collections.deque(maxlen=20)
        self._stderr_reader = threading.Thread(target=lambda: self._stderr.extend(self._process.stderr), daemon=True)
        self._stderr_reader.start()
        self.run(SESSION_SETTINGS)

    def run(self, sql: str) -> str:
        """Execute statements; return their tuples-only output."""
        sql = sql.rstrip()
        if not sql.endswith(";"):
            sql += ";"  # psql runs a statement only once it sees its terminator
        return self.meta(sql)

    def meta(self, command: str) -> str:
        """Send a line (a psql meta-command, or complete statements) and wait for its output."""
        try:
            self._process.stdin.write(f"{command}\n\\echo {_END}\n")
            self._process.stdin.flush()
        except BrokenPipeError:
            pass
        lines = []
        while True:
            line = self._process.stdout.readline()
            if not line:
                raise DatabaseError(self._failure())
            if line.rstrip("\n") == _END:
                return "".join(lines).strip()
            lines.append(line)

    def send(self, data: bytes) -> None:
        """Raw script bytes, not waited for; raises DatabaseError when psql has stopped (it stops at an error)."""
        try:
            self._process.stdin.flush()
            self._process.stdin.buffer.write(data)
        except BrokenPipeError:
            raise DatabaseError(self._failure()) from None

    def _failure(self) -> str:
        """psql's message, from its first ERROR or FATAL line on (warnings before it are noise here)."""
        self._process.wait()
        self._stderr_reader.join(timeout=10)
        lines = list(self._stderr)
        first = next((i for i, line in enumerate(lines) if "ERROR:" in line or "FATAL:" in line), 0)
        return _first_line("".join(lines[first:]))

    def close(self) -> None:
        """End the session; a transaction still open is rolled back by the server."""
        if self._process.poll() is None:
            try:
                self._process.stdin.close()
            except BrokenPipeError:
                pass
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def kill(self) -> None:
        """Stop psql at once (its open transaction is rolled back)."""
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def __enter__(self) -> "PsqlSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def parse_stats(text: str) -> DatabaseStats:
    data = json.loads(text)
    return DatabaseStats(
        tables={name: TableStats(rows=int(v["rows"]), hash=str(v["hash"])) for name, v in data["tables"].items()},
        sequences={name: (None if value is None else int(value)) for name, value in data["sequences"].items()},
    )


def collect_stats(session: PsqlSession) -> DatabaseStats:
    return parse_stats(session.run(STATS_SQL))


def sequences_behind_data(session: PsqlSession) -> list[str]:
    """Sequences that would hand out a value a row already has."""
    return json.loads(session.run(SEQUENCES_BEHIND_SQL))


def server_version(session: PsqlSession) -> str:
    return session.run("SHOW server_version;")


def client_version(pg_bin: str, name: str) -> str:
    try:
        return subprocess.run([tool(pg_bin, name), "--version"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as error:
        raise DatabaseError(f"{name} is not usable: {error}") from None


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def database_exists(session: PsqlSession, name: str) -> bool:
    return session.run(f"SELECT 1 FROM pg_database WHERE datname = {quote_literal(name)};") == "1"


#: Everything a restore could collide with, except what extensions own (the target's operator creates those).
USER_OBJECTS_SQL = r"""
WITH user_ns AS (
  SELECT oid, nspname FROM pg_namespace
  WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\_%'
), from_extension AS (
  SELECT classid, objid FROM pg_depend WHERE deptype = 'e'
), found AS (
  SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view'
           WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table'
           WHEN 'c' THEN 'type' ELSE 'relation' END || format(' %I.%I', n.nspname, c.relname) AS object
  FROM pg_class c JOIN user_ns n ON n.oid = c.relnamespace
  WHERE c.relkind NOT IN ('i', 'I', 't')
    AND NOT EXISTS (SELECT 1 FROM from_extension e WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid)
  UNION ALL
  SELECT format('function %I.%I', n.nspname, p.proname) FROM pg_proc p JOIN user_ns n ON n.oid = p.pronamespace
  WHERE NOT EXISTS (SELECT 1 FROM from_extension e WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid)
  UNION ALL
  SELECT format('type %I.%I', n.nspname, t.typname) FROM pg_type t JOIN user_ns n ON n.oid = t.typnamespace
  WHERE t.typrelid = 0 AND t.typcategory <> 'A'
    AND NOT EXISTS (SELECT 1 FROM from_extension e WHERE e.classid = 'pg_type'::regclass AND e.objid = t.oid)
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid
                    AND d.deptype = 'i')
  UNION ALL
  SELECT format('operator %I.%s', n.nspname, o.oprname) FROM pg_operator o JOIN user_ns n ON n.oid = o.oprnamespace
  WHERE NOT EXISTS (SELECT 1 FROM from_extension e WHERE e.classid = 'pg_operator'::regclass AND e.objid = o.oid)
  UNION ALL
  SELECT format('collation %I.%I', n.nspname, c.collname) FROM pg_collation c JOIN user_ns n ON n.oid = c.collnamespace
  UNION ALL
  SELECT format('schema %I', n.nspname) FROM user_ns n
  WHERE n.nspname <> 'public'
    AND NOT EXISTS (SELECT 1 FROM from_extension e WHERE e.classid = 'pg_namespace'::regclass AND e.objid = n.oid)
  UNION ALL
  SELECT format('large object %s', l.oid) FROM pg_largeobject_metadata l
)
SELECT json_build_object('count', count(*), 'tables', count(*) FILTER (WHERE object LIKE 'table %'), 'first', coalesce(
  (SELECT json_agg(object ORDER BY object) FROM (SELECT object FROM found ORDER BY object LIMIT 5) AS f), '[]'))
FROM found;
"""


def user_objects(session: PsqlSession) -> tuple[int, int, list[str]]:
    """How many objects a restore could collide with (all, tables), and the first few by name."""
    found = json.loads(session.run(USER_OBJECTS_SQL))
    return int(found["count"]), int(found["tables"]), list(found["first"])


def dump_process(pg_bin: str, snapshot: str) -> subprocess.Popen:
    """pg_dump of PGDATABASE in custom format to stdout, reading the exported snapshot."""
    return subprocess.Popen(
        [tool(pg_bin, "pg_dump"), "--format=custom", f"--snapshot={snapshot}", "--no-password"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=os.environ.copy(),
    )


def is_extension_entry(toc_line: str) -> bool:
    """A `pg_restore -l` line that creates an extension or comments on one.

    Only a superuser may create most extensions (pg_stat_statements among them),
    and the job restores as the database owner; the target cluster's operator
    creates the extensions it needs (CloudNativePG: postInitApplicationSQL).
    """
    _, _, description = toc_line.partition(";")
    fields = description.split()
    return len(fields) >= 3 and (fields[2] == "EXTENSION" or fields[2:5] == ["COMMENT", "-", "EXTENSION"])


def restore_list(pg_bin: str, chunks: Iterable[bytes]) -> str:
    """The archive's table of contents without extension entries, read from its first bytes."""
    lister = subprocess.Popen(
        [tool(pg_bin, "pg_restore"), "--list"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    output: dict[str, bytes] = {}
    # read stdout in the background so a long listing cannot block the writer
    reader = threading.Thread(target=lambda: output.update(out=lister.stdout.read(), err=lister.stderr.read()))
    reader.start()
    try:
        for chunk in chunks:
            if lister.poll() is not None:
                break  # the listing needs only the header and table of contents
            lister.stdin.write(chunk)
        lister.stdin.close()
    except BrokenPipeError:
        pass
    reader.join()
    if lister.wait() != 0:
        raise RuntimeError(f"pg_restore --list failed: {_first_line(output.get('err', b'').decode(errors='replace'))}")
    lines = output["out"].decode().splitlines()
    return "\n".join(line for line in lines if not is_extension_entry(line)) + "\n"


#: Bytes of pg_restore's script held back until its end, where its closing COMMIT is taken out.
_SCRIPT_TAIL = 64 * 1024


def restore_in_session(session: PsqlSession, pg_bin: str, chunks: Iterable[bytes], *, keep_privileges: bool,
                       list_file: str) -> tuple[int, str]:
    """Run the archive `chunks` yields inside `session`'s open transaction; return (bytes read, their sha256).

    pg_restore writes the archive as one script (`--single-transaction`: no COMMIT of its own around large
    objects); its final COMMIT is left out so that the caller verifies the result before committing it.
    """
    args = [tool(pg_bin, "pg_restore"), "--file=-", "--single-transaction", "--no-owner", f"--use-list={list_file}"]
    if not keep_privileges:
        args.append("--no-privileges")
    restore = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    fed: dict = {"digest": hashlib.sha256(), "size": 0}
    errors: list[bytes] = []

    def feed() -> None:
        try:
            for chunk in chunks:
                fed["digest"].update(chunk)
                fed["size"] += len(chunk)
                restore.stdin.write(chunk)
            restore.stdin.close()
        except BrokenPipeError:
            pass  # pg_restore stopped; its exit code says why
        except BaseException as error:  # the store failed: pg_restore must not see a short archive as complete
            fed["error"] = error
            restore.kill()

    feeder = threading.Thread(target=feed, daemon=True)
    reader = threading.Thread(target=lambda: errors.extend(restore.stderr), daemon=True)
    feeder.start()
    reader.start()
    try:
        session.meta("\\o /dev/null")  # the script's SELECTs (setval, set_config) print rows nobody reads
        held = b""
        while data := restore.stdout.read(_SCRIPT_TAIL):
            held += data
            if len(held) > _SCRIPT_TAIL:
                session.send(held[:-_SCRIPT_TAIL])
                held = held[-_SCRIPT_TAIL:]
        code = restore.wait()
        feeder.join()
        reader.join()
        if "error" in fed:
            raise fed["error"]
        if code != 0:
            raise DatabaseError(f"pg_restore failed (exit {code}): {_first_line(b''.join(errors).decode(errors='replace'))}")
        session.send(_without_final_commit(held))
        session.meta("\\o")
    except BaseException:
        restore.kill()
        restore.wait()
        session.kill()
        raise
    return fed["size"], fed["digest"].hexdigest()


def _without_final_commit(tail: bytes) -> bytes:
    """The script's end without its last `COMMIT;`, which only comments and psql's \\unrestrict may follow."""
    lines = tail.split(b"\n")
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index].strip()
        if line == b"COMMIT;":
            return b"\n".join(lines[:index] + lines[index + 1:])
        if line and not line.startswith((b"--", b"\\unrestrict ")):
            break
    raise DatabaseError("pg_restore's script does not end with the COMMIT of --single-transaction")
