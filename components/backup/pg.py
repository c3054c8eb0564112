"""PostgreSQL work through the client tools (psql, pg_dump, pg_restore) and the libpq variables.

Using the client binaries keeps the job image free of a Python driver and
guarantees the dump format matches the tools an operator restores with.
"""

from __future__ import annotations

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


class PsqlSession:
    """One psql process kept open, fed statements one at a time (holds a transaction across calls)."""

    def __init__(self, pg_bin: str, database: str | None = None):
        args = [tool(pg_bin, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
        if database:
            args += ["-d", database]
        try:
            self._process = subprocess.Popen(
                args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        except FileNotFoundError:
            raise DatabaseError(f"psql not found (BACKUP_PG_BIN={pg_bin!r})") from None
        self.run(SESSION_SETTINGS)

    def run(self, sql: str) -> str:
        """Execute statements; return their tuples-only output."""
        sql = sql.rstrip()
        if not sql.endswith(";"):
            sql += ";"  # psql runs a statement only once it sees its terminator
        try:
            self._process.stdin.write(f"{sql}\n\\echo {_END}\n")
            self._process.stdin.flush()
        except BrokenPipeError:
            pass
        lines = []
        while True:
            line = self._process.stdout.readline()
            if not line:
                self._process.wait()
                raise DatabaseError(_first_line(self._process.stderr.read()))
            if line.rstrip("\n") == _END:
                return "".join(lines).strip()
            lines.append(line)

    def close(self) -> None:
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


def user_table_count(pg_bin: str, database: str) -> int:
    with PsqlSession(pg_bin, database) as session:
        return int(
            session.run(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind IN ('r','p') AND n.nspname NOT IN ('pg_catalog','information_schema') "
                "AND n.nspname NOT LIKE 'pg\\_%';"
            )
        )


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


def restore_process(pg_bin: str, database: str, *, keep_privileges: bool, list_file: str | None = None) -> subprocess.Popen:
    """pg_restore reading an archive from stdin into `database`; stops at the first error."""
    args = [tool(pg_bin, "pg_restore"), "--exit-on-error", "--no-owner", "--no-password", "-d", database]
    if not keep_privileges:
        args.append("--no-privileges")
    if list_file:
        args.append(f"--use-list={list_file}")
    return subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
