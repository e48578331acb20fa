"""The audit trail keeps no personal data (#19) on a real PostgreSQL: a provider's failure text that quotes the
number is kept masked, a detail naming a recipient is refused, and migration 0014 scrubs what earlier rows hold
while the trail stays append-only."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
from pathlib import Path

import pytest
import sqlalchemy

from outreach import store
from outreach.providers import Receipt
from outreach.receipts.handlers import apply_receipts
from outreach.store import TrailEntry

from .conftest import Outreach

pytestmark = pytest.mark.integration
MIGRATION = Path(__file__).parents[2] / "migrations" / "versions" / "0014_scrub_personal_data.py"
DOTTED_MIGRATION = Path(__file__).parents[2] / "migrations" / "versions" / "0031_mask_dotted_identifiers.py"
PHONE, EMAIL, ID_NUMBER = "+573001234567", "deudor@example.com", "1020304050"


async def execute(o: Outreach, statement: str, **params: object) -> None:
    async with o.platform.db.transaction() as s:
        await s.execute(sqlalchemy.text(statement), params)


async def test_a_failure_quoting_the_number_is_kept_masked_everywhere(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("T-1"))
    # A message the provider took and has not settled yet.
    await execute(outreach, "INSERT INTO outreach.attempts (id, client_slug, account_ref, channel, sequence, "
                  "status, scheduled_at, created_at, sent_at, provider, provider_message_id) VALUES "
                  "(gen_random_uuid(), 'banco', 'T-1', 'sms', 1, 'sent', :at, :at, :at, 'sandbox', 'm-1')",
                  at=outreach.clock.now)
    text = f"undeliverable to {PHONE} ({EMAIL})"
    counts = await apply_receipts(outreach.platform.db, "sandbox", [Receipt("m-1", "failed", text),
                                                                    Receipt("m-2", "failed", text)],
                                  now=outreach.clock.now)
    assert (counts.applied, counts.unknown) == (1, 1)
    early = await outreach.sql("SELECT detail FROM outreach.early_receipts WHERE provider_message_id = 'm-2'")
    trail = await outreach.sql("SELECT detail::text FROM outreach.trail WHERE account_ref = 'T-1'")
    failed = await outreach.sql("SELECT failure FROM outreach.attempts WHERE account_ref = 'T-1'")
    events = await outreach.sql("SELECT envelope::text FROM outreach.outbox WHERE envelope->>'type' = 'contact.failed'")
    assert failed == [("undeliverable to [redacted] ([email])",)] and len(events) == 1
    for (row,) in [*trail, *failed, *events, *early]:
        assert "3001234567" not in row and EMAIL not in row


async def test_identifiers_written_with_dots_are_masked_in_replies_and_failures(outreach: Outreach) -> None:
    """A Colombian id number is usually written with its thousands' dots, a Chilean RUT with dots and a check
    digit, a phone with dots between its groups: a reply that matched no message (kept, masked, where no erasure
    of a person reaches it) and a provider's failure text keep none of them."""
    await outreach.deliver(await outreach.placed("T-3"))
    await execute(outreach, "INSERT INTO outreach.attempts (id, client_slug, account_ref, channel, sequence, "
                  "status, scheduled_at, created_at, sent_at, provider, provider_message_id) VALUES "
                  "(gen_random_uuid(), 'banco', 'T-3', 'sms', 1, 'sent', :at, :at, :at, 'sandbox', 'm-3')",
                  at=outreach.clock.now)
    written = ("1.020.304.050", "12.345.678-K", "300.123.4567")
    reply = f"soy Ana, cédula {written[0]}, RUT {written[1]}, llámeme al {written[2]}"
    await apply_receipts(outreach.platform.db, "sandbox", [
        Receipt("m-3", "failed", f"undeliverable to {written[2]}"),
        Receipt("r-3", "reply", reply, reply_from="+573009999999", reply_channel="sms")], now=outreach.clock.now)
    kept = [*await outreach.sql("SELECT body FROM outreach.replies WHERE provider_message_id = 'r-3'"),
            *await outreach.sql("SELECT failure FROM outreach.attempts WHERE account_ref = 'T-3'"),
            *await outreach.sql("SELECT envelope->'payload'->>'reason' FROM outreach.outbox "
                                "WHERE envelope->>'type' = 'contact.failed'")]
    assert len(kept) == 3
    for (row,) in kept:
        assert [w for w in written if w in row or w.split(".")[-1] in row] == [], row


async def test_migration_0031_masks_dotted_identifiers_kept_before(outreach: Outreach) -> None:
    await execute(outreach, "INSERT INTO outreach.trail (client_slug, account_ref, at, kind, detail) VALUES "
                  "('banco', 'OLD-2', :at, 'failed', CAST(:d AS jsonb))", at=outreach.clock.now,
                  d=json.dumps({"reason": "undeliverable to 300.123.4567", "channel": "sms"}))
    await execute(outreach, "INSERT INTO outreach.replies (id, provider, provider_message_id, channel, body, "
                  "opt_out, received_at) VALUES (gen_random_uuid(), 'sandbox', 'old-d', 'sms', :b, false, now())",
                  b="cédula 1.020.304.050, RUT 12.345.678-K, saldo 150000.00, versión 3.12.1")
    await run_migration(outreach, DOTTED_MIGRATION)
    assert await outreach.sql("SELECT detail FROM outreach.trail WHERE account_ref = 'OLD-2'") == [
        ({"reason": "undeliverable to [redacted]", "channel": "sms"},)]
    assert await outreach.sql("SELECT body FROM outreach.replies WHERE provider_message_id = 'old-d'") == [
        ("cédula [redacted], RUT [redacted], saldo 150000.00, versión 3.12.1",)]
    with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"):
        await execute(outreach, "UPDATE outreach.trail SET detail = '{}'")


async def run_migration(outreach: Outreach, path: Path) -> None:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    async with outreach.platform.db.transaction() as s:
        for statement in migration.STATEMENTS:
            await s.execute(sqlalchemy.text(statement))


async def test_a_trail_entry_naming_a_recipient_is_refused(outreach: Outreach) -> None:
    async with outreach.platform.db.transaction() as s:
        with pytest.raises(AssertionError, match="no personal data"):
            await store.trail(s, [TrailEntry("banco", "T-2", outreach.clock.now, "sent", detail={"recipient": PHONE})])


async def test_migration_0014_scrubs_the_trail_and_leaves_it_append_only(outreach: Outreach) -> None:
    # Rows as an earlier version, or outside text, could have left them: appending is what the trail allows.
    old = [{"recipient": PHONE, "provider": "sandbox"}, {"reason": f"failed: {PHONE} unreachable"},
           {"reason": f"bounce {EMAIL}", "email": EMAIL}, {"treatment": "digital", "sequence": 1,
                                                             "scheduled_at": "2026-03-04T15:00:00+00:00"}]
    for detail in old:
        await execute(outreach, "INSERT INTO outreach.trail (client_slug, account_ref, at, kind, detail) "
                      "VALUES ('banco', 'OLD-1', :at, 'sent', CAST(:d AS jsonb))",
                      at=outreach.clock.now - dt.timedelta(days=400), d=json.dumps(detail))
    await execute(outreach, "INSERT INTO outreach.replies (id, provider, provider_message_id, channel, body, "
                  "opt_out, received_at) VALUES (gen_random_uuid(), 'sandbox', 'old-r', 'sms', :b, false, now())",
                  b=f"soy {ID_NUMBER}, escriba a {EMAIL}")
    await run_migration(outreach, MIGRATION)
    rows = [r[0] for r in await outreach.sql("SELECT detail FROM outreach.trail WHERE account_ref = 'OLD-1' "
                                             "ORDER BY id")]
    assert rows == [{"provider": "sandbox"}, {"reason": "failed: [redacted] unreachable"},
                    {"reason": "bounce [email]"},
                    {"treatment": "digital", "sequence": 1, "scheduled_at": "2026-03-04T15:00:00+00:00"}]
    assert await outreach.sql("SELECT body FROM outreach.replies WHERE provider_message_id = 'old-r'") == [
        ("soy [redacted], escriba a [email]",)]
    with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"):
        await execute(outreach, "UPDATE outreach.trail SET detail = '{}'")
