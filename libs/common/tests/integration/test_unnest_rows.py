"""unnest_rows against a real PostgreSQL: what goes in as a batch comes out row by row, typed, in order, with
list cells of any length and JSON documents intact."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from recaudo_common.db import unnest_rows

pytestmark = pytest.mark.integration
COLUMNS = {"ref": "text", "balance": "numeric", "due": "date", "at": "timestamptz", "id": "uuid",
           "phones": "text[]", "detail": "jsonb", "days": "int"}
AT = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)


def rows() -> list[dict[str, object]]:
    return [
        {"ref": "A-1", "balance": Decimal("1234567.89"), "due": dt.date(2026, 1, 31), "at": AT, "id": uuid.UUID(int=1),
         "phones": ["3001234567", "3109876543"], "detail": {"why": "placed", "amount": Decimal("10.50")}, "days": 40},
        {"ref": "A-2", "balance": Decimal("0.01"), "due": None, "at": AT + dt.timedelta(hours=1), "id": None,
         "phones": [], "detail": None, "days": None},
        {"ref": "A-3 'quoted'", "balance": Decimal("-5"), "due": dt.date(2026, 2, 1), "at": AT,
         "id": uuid.UUID(int=3), "phones": ["+57 300 000 0000"], "detail": {"list": [1, 2]}, "days": 0},
    ]


@pytest.mark.parametrize("as_tuples", [False, True], ids=["mappings", "sequences"])
async def test_rows_come_back_typed_in_order_with_ragged_lists(database_url: str, as_tuples: bool) -> None:
    given = rows()
    batch = [tuple(r[c] for c in COLUMNS) for r in given] if as_tuples else given
    source, params = unnest_rows(COLUMNS, batch, alias="x", ordinality=True)
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            got = (await conn.execute(text(f"SELECT x.* FROM {source} ORDER BY x.n"), params)).mappings().all()
    finally:
        await engine.dispose()
    assert [r["n"] for r in got] == [1, 2, 3]
    for want, row in zip(given, got, strict=True):
        assert row["ref"] == want["ref"]
        assert row["balance"] == want["balance"] and isinstance(row["balance"], Decimal)
        assert row["due"] == want["due"] and row["at"] == want["at"] and row["id"] == want["id"]
        assert row["phones"] == want["phones"]  # two, none and one: no rectangular-array error
        assert row["days"] == want["days"]
    assert got[0]["detail"] == {"why": "placed", "amount": "10.50"}  # Decimal travels as its exact text
    assert got[1]["detail"] is None
    assert got[2]["detail"] == {"list": [1, 2]}


async def test_plain_columns_need_no_subquery_and_an_empty_batch_yields_nothing(database_url: str) -> None:
    source, params = unnest_rows({"ref": "text", "days": "int"}, [])
    assert source.startswith("unnest(") and params == {"i_ref": [], "i_days": []}
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            got = (await conn.execute(text(f"SELECT count(*) FROM {source}"), params)).scalar_one()
    finally:
        await engine.dispose()
    assert got == 0
