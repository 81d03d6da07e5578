"""The hand-written search migration and the queries that rely on its indexes agree."""

from __future__ import annotations

import importlib

from kith.search import FTS, SearchQuery, pg_document, terms

migration = importlib.import_module("kith.piccolo_migrations.kith_0006_search")


def test_the_migration_indexes_exactly_what_find_searches():
    assert migration.INDEXED == {i.table: i.columns for i in FTS.values()}


def test_postgres_queries_repeat_the_indexed_expression_so_the_index_is_used():
    for index in FTS.values():
        assert migration.pg_document(index.columns) == pg_document(index.columns)
        statement = next(s for s in migration.postgres_statements() if f"{index.table}_search" in s)
        assert pg_document(index.columns) in statement


def test_search_text_becomes_safe_prefix_queries():
    query = SearchQuery("x", tuple(terms('Ada "Love-lace" OR *:(')))
    assert query.terms == ("ada", "love", "lace", "or")
    assert query.fts5 == '"ada"* "love"* "lace"* "or"*'
    assert query.tsquery == "ada:* & love:* & lace:* & or:*"
    assert terms("Chloé_Dubois 42") == ["chloé", "dubois", "42"]
