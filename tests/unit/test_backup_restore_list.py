"""Restore helpers: extension entries skipped (only a superuser may restore them), the held-back COMMIT, names."""

import pytest

from components.backup.job.commands import scratch_database_name
from components.backup.job.pg import DatabaseError, _without_final_commit, conninfo, is_extension_entry


def test_extension_and_its_comment_are_skipped():
    assert is_extension_entry("215; 3079 16385 EXTENSION - pg_stat_statements")
    assert is_extension_entry("3466; 0 0 COMMENT - EXTENSION pg_stat_statements")


def test_tables_data_and_other_comments_are_kept():
    assert not is_extension_entry("216; 1259 16420 TABLE public runs owner")
    assert not is_extension_entry("3460; 0 16420 TABLE DATA public runs owner")
    assert not is_extension_entry("3467; 0 0 COMMENT public TABLE runs owner")
    assert not is_extension_entry(";")
    assert not is_extension_entry("; Archive created at 2026-11-28 23:00:00 UTC")


# -- the one-transaction restore and database names (pure parts) ------------------------------------

def test_database_names_become_one_quoted_connection_parameter():
    assert conninfo("dbname=spare") == "dbname='dbname=spare'"
    assert conninfo("o'brien \\ x") == "dbname='o\\'brien \\\\ x'"


def test_the_scripts_final_commit_is_held_back_but_nothing_else():
    script = (b"BEGIN;\nCOPY public.t (a) FROM stdin;\nCOMMIT;\n\\.\n\nCREATE INDEX i ON public.t (a);\n\n"
              b"COMMIT;\n\n--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict abc123\n\n")
    kept = _without_final_commit(script)
    assert kept.count(b"COMMIT;") == 1, "a COPY row that reads COMMIT; stays"
    assert kept.endswith(b"-- PostgreSQL database dump complete\n--\n\n\\unrestrict abc123\n\n")


@pytest.mark.parametrize("ending", [b"CREATE INDEX i ON t (a);\n", b"COMMIT;\nSELECT 1;\n", b""])
def test_a_script_that_does_not_end_with_its_commit_is_refused(ending):
    with pytest.raises(DatabaseError, match="does not end with the COMMIT"):
        _without_final_commit(b"BEGIN;\n" + ending)


def test_every_drill_gets_a_scratch_database_of_its_own_within_postgres_name_limit():
    names = {scratch_database_name("20261128T230000Z-1a2b3c") for _ in range(50)}
    assert len(names) == 50
    assert all(len(name.encode()) <= 63 and name.startswith("wf_restore_drill_20261128t230000z_1a2b3c_") for name in names)
