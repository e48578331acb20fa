"""Payments' statements for many gateway payments at once (schema `payments`): what a group commit of webhooks
(webhooks_together) reads and writes, each in one round trip however many payments it carries."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from payments.records import BookedPayment, Payment
from payments.store import PAYMENT_COLUMNS, stored_amount
from recaudo_common.db import sql, unnest_rows


async def gateway_payments(s: AsyncSession, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Payment]:
    """The payments already recorded among these (gateway, the gateway's payment id), by that key."""
    if not keys:
        return {}
    source, params = unnest_rows({"gateway": "text", "external_id": "text"}, keys, alias="x")
    # One probe of the unique index per key, however large the table: as a plain join, the index (partial, on
    # gateway IS NOT NULL) could not be proved usable and every batch scanned every payment, which a run at
    # saturation measured as 18 % fewer payments a second.
    rows = (await s.execute(sql(
        f"""SELECT p.*, x.gateway, x.external_id FROM {source} CROSS JOIN LATERAL (
                SELECT {PAYMENT_COLUMNS} FROM payments.payments
                WHERE gateway = x.gateway AND external_id = x.external_id AND gateway IS NOT NULL LIMIT 1) p"""),
        params)).mappings().all()
    return {(r["gateway"], r["external_id"]): Payment(**{k: v for k, v in r.items()
                                                         if k not in ("gateway", "external_id")}) for r in rows}


async def insert_payments(s: AsyncSession, booked: Sequence[BookedPayment]) -> None:
    """The applied payments' rows, as store.insert_payment writes a gateway's applied payment."""
    source, params = unnest_rows(
        {"id": "uuid", "client_slug": "text", "account_ref": "text", "amount": "numeric", "currency": "text",
         "paid_at": "timestamptz", "method": "text", "reference": "text", "received_at": "timestamptz",
         "gateway": "text", "external_id": "text", "content_sha256": "text"},
        [(b.payment_id, b.client, b.account_ref, stored_amount(b.amount), b.currency, b.paid_at, b.method, b.reference,
          b.received_at, b.gateway, b.external_id, b.content_sha256) for b in booked], ordinality=True)
    await s.execute(sql(
        f"""INSERT INTO payments.payments (id, client_slug, account_ref, amount, currency, paid_at, source, method,
                reference, debtor_id, status, unmatched_reason, received_at, gateway, external_id,
                claimed_account_ref, content_sha256, payer_ref)
            SELECT id, client_slug, account_ref, amount, currency, paid_at, 'gateway', method, reference, NULL,
                'applied', NULL, received_at, gateway, external_id, account_ref, content_sha256, NULL
            FROM {source} ORDER BY n"""), params)


async def add_payment_entries(s: AsyncSession, booked: Sequence[BookedPayment]) -> None:
    """Each applied payment's entry in the ledger (what it paid, negative), in the order they were applied."""
    source, params = unnest_rows(
        {"client_slug": "text", "account_ref": "text", "amount": "numeric", "payment_id": "uuid",
         "booked_at": "timestamptz"},
        [(b.client, b.account_ref, -b.amount, b.payment_id, b.received_at) for b in booked], ordinality=True)
    await s.execute(sql(
        f"""INSERT INTO payments.ledger_entries (client_slug, account_ref, kind, amount, payment_id, event_id,
                booked_at)
            SELECT client_slug, account_ref, 'payment', amount, payment_id, NULL, booked_at FROM {source}
            ORDER BY n"""), params)

