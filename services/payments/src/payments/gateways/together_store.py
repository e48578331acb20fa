"""Gateway payments' statements for many notifications at once (schema `payments`): what a group commit of the
gateways' notifications (gateways.together) reads and writes, each in one round trip however many it carries; the
one-at-a-time statements they stand for are in gateways.store."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from payments.gateways.store import STATE_NOTIFIED, STATUS_PARAMETERS, PaymentState
from recaudo_common.db import sql, unnest_rows

Key = tuple[str, str]  # (the gateway account's ledger key, the gateway's payment id)


async def lock_gateway_payments(s: AsyncSession, keys: Sequence[Key]) -> None:
    """store.lock_gateway_payment for many payments, until the transaction ends, one after the other in the order
    of the locks themselves (two keys may share a hash): two batches of other replicas never wait on each other in a
    circle."""
    source, params = unnest_rows({"gateway": "text", "x": "text"}, keys, alias="k")
    await s.execute(sql(
        f"""SELECT count(pg_advisory_xact_lock(h)) FROM (
                SELECT DISTINCT hashtext('recaudo.payments.gateway/' || k.gateway || '/' || k.x) AS h FROM {source}
                ORDER BY h) locks"""), params)


async def payment_states(s: AsyncSession, keys: Sequence[Key]) -> dict[Key, PaymentState]:
    """The state each of these payments was last notified in (absent: never seen), locked as store.record_state
    locks it."""
    source, params = unnest_rows({"gateway": "text", "x": "text"}, keys, alias="k")
    rows = (await s.execute(sql(
        f"""SELECT p.gateway, p.gateway_payment_id, p.status, p.payment_id FROM payments.gateway_payment_states p
            JOIN {source} ON p.gateway = k.gateway AND p.gateway_payment_id = k.x
            ORDER BY p.gateway, p.gateway_payment_id FOR UPDATE OF p"""), params)).all()
    return {(r.gateway, r.gateway_payment_id): PaymentState(r.status, r.payment_id) for r in rows}


async def with_pending_reversals(s: AsyncSession, keys: Sequence[Key]) -> set[Key]:
    """Those of these payments a refund or chargeback is waiting for (arrived before the payment did)."""
    source, params = unnest_rows({"gateway": "text", "x": "text"}, keys, alias="k")
    rows = (await s.execute(sql(
        f"""SELECT DISTINCT r.gateway, r.refers_to FROM payments.gateway_pending_reversals r
            JOIN {source} ON r.gateway = k.gateway AND r.refers_to = k.x WHERE r.applied_at IS NULL"""),
        params)).all()
    return {(r.gateway, r.refers_to) for r in rows}


@dataclass(frozen=True)
class NotifiedState:
    """A notification's state of its payment, to record (store.record_state, and store.link_payment when the
    notification applied it)."""

    gateway: str
    gateway_payment_id: str
    client: str
    status: str
    gateway_status: str | None
    reference: str | None
    amount: Decimal
    currency: str
    payment_id: uuid.UUID | None
    now: dt.datetime


async def record_states(s: AsyncSession, states: Sequence[NotifiedState]) -> None:
    """store.record_state (and store.link_payment where a payment id is given) for many payments, at most one row
    each, in one round trip."""
    if not states:
        return
    source, params = unnest_rows(
        {"gateway": "text", "x": "text", "client_slug": "text", "status": "text", "gateway_status": "text",
         "reference": "text", "amount": "numeric", "currency": "text", "payment_id": "uuid", "now": "timestamptz"},
        [(n.gateway, n.gateway_payment_id, n.client, n.status, n.gateway_status, n.reference, n.amount, n.currency,
          n.payment_id, n.now) for n in states])
    await s.execute(sql(
        f"""INSERT INTO payments.gateway_payment_states AS p (gateway, gateway_payment_id, client_slug, status,
                gateway_status, reference, amount, currency, first_seen, last_seen, payment_id)
            SELECT gateway, x, client_slug, status, gateway_status, reference, amount, currency, now, now, payment_id
            FROM {source}
            ON CONFLICT (gateway, gateway_payment_id) DO UPDATE SET last_seen = excluded.last_seen,
                {STATE_NOTIFIED},
                payment_id = coalesce(excluded.payment_id, p.payment_id)"""), {**params, **STATUS_PARAMETERS})
