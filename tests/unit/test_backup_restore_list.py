"""The restore skips extension entries, which only a superuser may restore."""

from components.backup.pg import is_extension_entry


def test_extension_and_its_comment_are_skipped():
    assert is_extension_entry("215; 3079 16385 EXTENSION - pg_stat_statements")
    assert is_extension_entry("3466; 0 0 COMMENT - EXTENSION pg_stat_statements")


def test_tables_data_and_other_comments_are_kept():
    assert not is_extension_entry("216; 1259 16420 TABLE public runs owner")
    assert not is_extension_entry("3460; 0 16420 TABLE DATA public runs owner")
    assert not is_extension_entry("3467; 0 0 COMMENT public TABLE runs owner")
    assert not is_extension_entry(";")
    assert not is_extension_entry("; Archive created at 2026-11-28 23:00:00 UTC")
