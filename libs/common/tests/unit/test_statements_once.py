"""recaudo_common.db.sql: a statement's SQL is parsed once and the clause shared, and a clause shared by every
call still binds each call's own values (a generative change returns a copy, never alters the shared one)."""

import pytest
from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg

from recaudo_common.db import sql

pytestmark = pytest.mark.unit

QUERY = "SELECT balance FROM payments.accounts WHERE client_slug = :c AND account_ref = :r"


def test_the_same_sql_is_one_clause_and_other_sql_another() -> None:
    assert sql(QUERY) is sql(QUERY)
    assert sql(QUERY + " FOR UPDATE") is not sql(QUERY)
    assert sorted(sql(QUERY).compile().params) == ["c", "r"]


def test_binding_a_shared_clause_leaves_it_as_it_was() -> None:
    shared = sql(QUERY)
    bound = shared.bindparams(bindparam("c", value="banco"))
    assert bound is not shared
    assert bound.compile().params["c"] == "banco"
    assert shared.compile().params["c"] is None
    compiled = str(sql(QUERY).compile(dialect=PGDialect_asyncpg()))  # type: ignore[no-untyped-call]
    assert "$1" in compiled and "$2" in compiled
