"""Outreach's migration announce_old_withdrawals on a deployment that withdrew agent calls before outreach published
contact.withdrawn (832785a): each such call is announced once, as the live withdrawal would have announced it, so
reporting stops counting it; a call whose withdrawal was announced, or that was never withdrawn, gets nothing,
however often the migration runs."""

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from recaudo_common.events import AccountRecalled, ContactWithdrawn
from recaudo_common.events.envelope import Envelope, decode_json
from recaudo_common.migrate import revision_before, upgrade_async

from .conftest import Outreach
from .test_agent_desk_withdrawn import handed_out

pytestmark = pytest.mark.integration
MIGRATIONS = Path(__file__).parents[2] / "migrations"


async def withdrawals(o: Outreach) -> dict[str, list[tuple[Envelope, ContactWithdrawn]]]:
    """Every contact.withdrawn in the outbox, read as reporting's consumer reads it, by account."""
    found: dict[str, list[tuple[Envelope, ContactWithdrawn]]] = {}
    for (raw,) in await o.sql("SELECT envelope::text FROM outreach.outbox "
                               "WHERE envelope->>'type' = 'contact.withdrawn' ORDER BY id"):
        envelope, event = decode_json(raw, ContactWithdrawn)
        assert isinstance(event, ContactWithdrawn)
        found.setdefault(event.account_ref, []).append((envelope, event))
    return found


async def execute(o: Outreach, statement: str, **params: Any) -> None:
    async with o.platform.db.transaction() as s:
        await s.execute(text(statement), params)


async def migrate_again(o: Outreach, database_url: str) -> None:
    """Outreach's schema migrated from the revision before the back-fill, as on an upgrade (or a second time)."""
    await execute(o, "UPDATE outreach.alembic_version SET version_num = :v",
                  v=revision_before(MIGRATIONS, "announce_old_withdrawals"))
    await upgrade_async(schema="outreach", script_location=MIGRATIONS, database_url=database_url)
    await o.platform.db.dispose()  # the pool's statements were prepared against the table before


async def test_a_call_withdrawn_before_the_event_existed_is_announced_once(outreach: Outreach,
                                                                           database_url: str) -> None:
    o = outreach
    announced = await handed_out(o, "NEW-1", debtor="1000000001")  # withdrawn by 832785a: its event waits
    await o.deliver(AccountRecalled(account_ref="NEW-1", recalled_at=o.clock.now))
    old = await handed_out(o, "OLD-1", debtor="1000000002")
    o.clock.now += dt.timedelta(minutes=7)
    await o.deliver(AccountRecalled(account_ref="OLD-1", recalled_at=o.clock.now))
    [(withdrawn_at,)] = await o.sql("SELECT at FROM outreach.trail WHERE kind = 'withdrawn' "
                                    "AND attempt_id = CAST(:a AS uuid)", a=old["attempt_id"])
    assert o.clock.now - dt.timedelta(minutes=1) < withdrawn_at <= o.clock.now + dt.timedelta(seconds=1)
    still = await handed_out(o, "KEPT-1", debtor="1000000003")  # handed out, never withdrawn
    # As the code before 832785a left OLD-1: withdrawn, its trail entry written, no contact.withdrawn, and the
    # attempts as they were before the back-fill's migration.
    await execute(o, "DELETE FROM outreach.outbox WHERE envelope->>'type' = 'contact.withdrawn' "
                  "AND envelope->'payload'->>'attempt_id' = :a", a=old["attempt_id"])
    await execute(o, "ALTER TABLE outreach.attempts DROP COLUMN IF EXISTS withdrawal_announced")
    assert await o.sql("SELECT status, cancel_reason FROM outreach.attempts WHERE id = CAST(:a AS uuid)",
                       a=old["attempt_id"]) == [("cancelled", "withdrawn: account recalled")]
    assert set(await withdrawals(o)) == {"NEW-1"}

    await migrate_again(o, database_url)

    found = await withdrawals(o)
    # Nothing for KEPT-1, nor for the attempts the recalls cancelled that were no call handed out.
    assert set(found) == {"NEW-1", "OLD-1"}
    assert await o.sql("SELECT DISTINCT account_ref, cancel_reason FROM outreach.attempts WHERE status = 'cancelled' "
                       "AND NOT starts_with(cancel_reason, 'withdrawn: ') ORDER BY 1"
                       ) == [("NEW-1", "account recalled"), ("OLD-1", "account recalled")]
    assert [str(e.attempt_id) for _, e in found["NEW-1"]] == [announced["attempt_id"]]  # not announced twice
    [(envelope, event)] = found["OLD-1"]
    assert event == ContactWithdrawn(attempt_id=uuid.UUID(old["attempt_id"]), account_ref="OLD-1", channel="agent",
                                     withdrawn_at=withdrawn_at, reason="account_recalled")
    assert (envelope.type, envelope.version, envelope.client, envelope.key, envelope.occurred_at,
            envelope.causation_id) == ("contact.withdrawn", 1, "banco", "banco/OLD-1", withdrawn_at, None)
    assert await o.sql("SELECT family, key, event_id FROM outreach.outbox WHERE envelope->>'type' = "
                       "'contact.withdrawn' AND envelope->'payload'->>'attempt_id' = :a", a=old["attempt_id"]
                       ) == [("contact", "banco/OLD-1", envelope.event_id)]
    assert await o.sql("SELECT status FROM outreach.attempts WHERE id = CAST(:a AS uuid)",
                       a=still["attempt_id"]) == [("assigned",)]

    # The relay publishes them; a call withdrawn after the upgrade is announced by the withdrawal itself and
    # published too. Running the migration again announces none of them a second time.
    await execute(o, "DELETE FROM outreach.outbox")
    later = await handed_out(o, "NEW-2", debtor="1000000004")
    await o.deliver(AccountRecalled(account_ref="NEW-2", recalled_at=o.clock.now))
    assert [str(e.attempt_id) for _, e in (await withdrawals(o))["NEW-2"]] == [later["attempt_id"]]
    await execute(o, "DELETE FROM outreach.outbox")
    await migrate_again(o, database_url)
    assert await withdrawals(o) == {}
