"""Migration 0019 (#24) on a table that holds consent evidence already: every row kept, as piece 0 of its event,
and the key becomes (event_id, piece), so an account's pieces carried in one contact.consents_recorded each have a
row. Its index is built CONCURRENTLY, so the migration runs again whole after a failure."""

import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

from recaudo_common.migrate import upgrade_async

pytestmark = pytest.mark.integration
MIGRATIONS = Path(__file__).parents[2] / "migrations"
INSERT = text("INSERT INTO reporting.consents (event_id, client_slug, account_ref, channel, what, source, "
              "recorded_at, piece) VALUES (:e, 'banco', 'A-1', :ch, 'granted', 'client_file', now(), :p)")


async def test_the_consents_recorded_before_stay_as_piece_0_of_their_event(database_url: str) -> None:
    engine = create_async_engine(database_url)
    earlier = [uuid.uuid4(), uuid.uuid4()]
    try:
        async with engine.begin() as c:  # the table as it was before 0019, with two pieces of evidence
            for statement in ("ALTER TABLE reporting.consents DROP CONSTRAINT consents_pkey",
                              "ALTER TABLE reporting.consents DROP COLUMN piece",
                              "ALTER TABLE reporting.consents ADD PRIMARY KEY (event_id)",
                              "UPDATE reporting.alembic_version SET version_num = '0018'"):
                await c.execute(text(statement))
            for event_id, channel in zip(earlier, ("sms", "email"), strict=True):
                await c.execute(text("INSERT INTO reporting.consents (event_id, client_slug, account_ref, channel, "
                                     "what, source, recorded_at) VALUES (:e, 'banco', 'A-1', :ch, 'granted', "
                                     "'client_file', now())"), {"e": event_id, "ch": channel})
        for _ in range(2):  # and again, as after a run that failed past its index
            await upgrade_async(schema="reporting", script_location=MIGRATIONS, database_url=database_url)
            async with engine.begin() as c:
                await c.execute(text("UPDATE reporting.alembic_version SET version_num = '0018'"))
        await upgrade_async(schema="reporting", script_location=MIGRATIONS, database_url=database_url)
        async with engine.begin() as c:
            rows = (await c.execute(text("SELECT event_id, piece FROM reporting.consents ORDER BY channel DESC"))).all()
            assert [tuple(r) for r in rows] == [(earlier[0], 0), (earlier[1], 0)]
            key = (await c.execute(text(
                "SELECT array_agg(a.attname ORDER BY k.n) FROM pg_index i "
                "CROSS JOIN unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) "
                "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
                "WHERE i.indrelid = 'reporting.consents'::regclass AND i.indisprimary"))).scalar_one()
            assert key == ["event_id", "piece"]
            await c.execute(INSERT, {"e": earlier[0], "ch": "whatsapp", "p": 1})  # a second piece of that event
        with pytest.raises(IntegrityError):  # the same piece twice is still refused
            async with engine.begin() as c:
                await c.execute(INSERT, {"e": earlier[0], "ch": "voice", "p": 1})
    finally:
        await engine.dispose()
