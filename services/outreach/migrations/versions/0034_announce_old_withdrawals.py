"""contact.withdrawn for the agent calls withdrawn before outreach announced a withdrawal (832785a), so reporting
takes back their contact.attempted as it does a call withdrawn since; and attempts.withdrawal_announced, which the
withdrawal sets from now on (withdrawals.withdraw_handed_out), so that nothing is announced twice.

A withdrawn call is an attempt `cancelled` with `cancel_reason` `withdrawn: <why>`; its trail has a `withdrawn`
entry at the instant of the withdrawal. Each one not yet announced gets the event the withdrawal writes: the same
model and envelope (its own event id, keyed by its account, the trail entry's instant as withdrawn_at and
occurred_at, withdrawals.reason_code of its words), written to the outbox as Outbox.write writes a row, for the relay
to publish. A call whose contact.withdrawn still waits in the outbox (withdrawn since 832785a, not yet published)
gets none. Every withdrawn call is then marked announced, so running this again writes nothing. A call withdrawn
by 832785a's code whose event was already published cannot be told from an older one (the relay deletes what it
publishes): it is announced again, with another event id, which reporting reads as the same withdrawal."""

import json
from typing import Any

from alembic import op
from sqlalchemy import text

from outreach.withdrawals import WITHDRAWN, reason_code
from recaudo_common.events import ContactWithdrawn, family_of

revision = "0034"
down_revision = "0033"

# The trail entry is found through its account (trail_account), not by a scan of the whole trail.
UNANNOUNCED = text(
    """SELECT a.id, a.client_slug, a.account_ref, a.channel, a.cancel_reason, w.at
       FROM outreach.attempts a
       CROSS JOIN LATERAL (
           SELECT t.at FROM outreach.trail t
           WHERE t.client_slug = a.client_slug AND t.account_ref = a.account_ref AND t.attempt_id = a.id
             AND t.kind = 'withdrawn'
           ORDER BY t.id LIMIT 1) w
       WHERE a.status = 'cancelled' AND starts_with(a.cancel_reason, :withdrawn) AND NOT a.withdrawal_announced
         AND NOT EXISTS (
             SELECT 1 FROM outreach.outbox o WHERE o.envelope ->> 'type' = 'contact.withdrawn'
                 AND o.envelope -> 'payload' ->> 'attempt_id' = a.id::text)
       ORDER BY w.at, a.id""")
INSERT = text(
    "INSERT INTO outreach.outbox (family, key, event_id, envelope, headers) "
    "VALUES (:family, :key, :event_id, CAST(:envelope AS jsonb), CAST(:headers AS jsonb))")


def upgrade() -> None:
    # A constant default adds no table rewrite.
    op.execute("ALTER TABLE outreach.attempts ADD COLUMN IF NOT EXISTS withdrawal_announced boolean NOT NULL "
               "DEFAULT false")
    connection = op.get_bind()
    rows: list[dict[str, Any]] = []
    for r in connection.execute(UNANNOUNCED, {"withdrawn": WITHDRAWN}).all():
        envelope = ContactWithdrawn(
            attempt_id=r.id, account_ref=r.account_ref, channel=r.channel, withdrawn_at=r.at,
            reason=reason_code(r.cancel_reason[len(WITHDRAWN):])).envelope(client=r.client_slug, occurred_at=r.at)
        rows.append({"family": family_of(envelope.type), "key": envelope.key, "event_id": envelope.event_id,
                     "envelope": envelope.model_dump_json(), "headers": json.dumps({})})
    if rows:
        connection.execute(INSERT, rows)
    op.execute(f"""UPDATE outreach.attempts SET withdrawal_announced = true
                   WHERE status = 'cancelled' AND starts_with(cancel_reason, '{WITHDRAWN}')
                     AND NOT withdrawal_announced""")
