"""Write-offs in the read models (#22): payment.written_off closes the account in the account view (its balance
what is left to pay, its status written_off once nothing is) and is kept with its amount; a recovery after it and
a reversal of it (the account open again) are kept too. The recovery report's written-off figures are made of
these rows (store.report)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.events import PaymentWriteOffRecovered, PaymentWriteOffReversed, PaymentWrittenOff
from reporting import store


async def record(s: AsyncSession, *, row_id: uuid.UUID, client: str, account_ref: str, kind: str, amount: Decimal,
                 at: dt.datetime) -> None:
    await s.execute(store.read_model_sql(
        "INSERT INTO reporting.write_offs (id, client_slug, account_ref, kind, amount, at) "
        "VALUES (:id, :c, :r, :k, :a, :at) ON CONFLICT DO NOTHING"),
        {"id": row_id, "c": client, "r": account_ref, "k": kind, "a": amount, "at": at})


async def on_written_off(event: PaymentWrittenOff | PaymentWriteOffReversed, ctx: HandlerContext) -> None:
    """A write-off, or its reversal (kept as `reversed`: the report's written_off is net of it)."""
    s, client = ctx.session, ctx.envelope.client
    if isinstance(event, PaymentWrittenOff):
        row_id, kind, at = event.write_off_id, "written_off", event.written_off_at
    else:
        row_id, kind, at = ctx.envelope.event_id, "reversed", event.reversed_at
    await record(s, row_id=row_id, client=client, account_ref=event.account_ref, kind=kind, amount=event.amount,
                 at=at)
    await store.ledger_word(s, client=client, account_ref=event.account_ref, balance=event.new_balance,
                            status=event.account_status)
    await store.record_status(s, event_id=ctx.envelope.event_id, client=client, account_ref=event.account_ref,
                              at=at, status=event.account_status)
    await store.notify_change(s, client)


async def on_write_off_recovered(event: PaymentWriteOffRecovered, ctx: HandlerContext) -> None:
    """The payment itself came as payment.applied (it counts in `recovered`); this says how much of it was
    written-off money."""
    await record(ctx.session, row_id=event.payment_id, client=ctx.envelope.client, account_ref=event.account_ref,
                 kind="recovered", amount=event.amount, at=event.recovered_at)
    await store.notify_change(ctx.session, ctx.envelope.client)
