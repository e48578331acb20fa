"""Gateway accounts' tables: each client company's accounts at its gateways (credentials sealed at rest, bound to
the client company, the account and the credential's name) and the state each gateway payment was last notified
in (references and amounts only: nothing about the payer is kept)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.db import sql
from recaudo_common.personal_data import MasterKeyring
from recaudo_common.secrets_at_rest import open_secret, seal_secret

# Each kind's credentials (sealed) and plain settings, as the configuration API names them.
SECRET_NAMES = {"wompi": ("events_secret", "integrity_secret", "private_key"),
                "mercadopago": ("access_token", "webhook_secret"),
                "payu": ("api_key", "api_login"),
                "stripe": ("webhook_secret", "secret_key")}
SETTING_NAMES = {"wompi": ("public_key",), "mercadopago": ("api_base_url",), "payu": ("merchant_id", "account_id"),
                 "stripe": ()}



def _bound(client: str, name: str, credential: str) -> str:
    return f"gateway/{client}/{name}/{credential}"


@dataclass(frozen=True)
class GatewayAccount:
    """A client company's account at a gateway with its credentials opened (repr hides them: never logged)."""

    client: str
    name: str
    kind: str
    webhook_id: str
    settings: dict[str, str]
    created_at: dt.datetime
    updated_at: dt.datetime
    secrets: dict[str, str] = field(repr=False)

    @property
    def ledger_key(self) -> str:
        """The `gateway` its payments and reversals are recorded under: one per account, so a gateway's payment
        id is applied once per account however often it is sent."""
        return f"{self.kind}/{self.client}/{self.name}"

    def secret(self, name: str) -> str:
        return self.secrets[name]

    def optional_secret(self, name: str) -> str | None:
        return self.secrets.get(name)


async def put_account(s: AsyncSession, keyring: MasterKeyring, *, client: str, name: str, kind: str,
                      settings: dict[str, str], secrets: dict[str, str], webhook_id: str,
                      now: dt.datetime) -> tuple[bool, str] | None:
    """Creates or replaces the account; (created, its webhook id: kept from the first put), or None when the name
    is already an account of another kind (left as it is)."""
    sealed = {key: seal_secret(keyring, _bound(client, name, key), value) for key, value in secrets.items()}
    row = (await s.execute(sql(
        """INSERT INTO payments.gateway_accounts AS g (client_slug, name, kind, webhook_id, settings, secrets,
               created_at, updated_at)
           VALUES (:c, :n, :k, :w, CAST(:settings AS jsonb), CAST(:secrets AS jsonb), :now, :now)
           ON CONFLICT (client_slug, name) DO UPDATE SET settings = excluded.settings, secrets = excluded.secrets,
               updated_at = excluded.updated_at WHERE g.kind = excluded.kind
           RETURNING g.webhook_id, (g.xmax = 0) AS created"""),
        {"c": client, "n": name, "k": kind, "w": webhook_id, "settings": json.dumps(settings),
         "secrets": json.dumps(sealed), "now": now})).first()
    return None if row is None else (bool(row.created), str(row.webhook_id))


_COLUMNS = "client_slug, name, kind, webhook_id, settings, secrets, created_at, updated_at"


def _account(keyring: MasterKeyring, row: Row[Any]) -> GatewayAccount:
    client, name = row.client_slug, row.name
    opened = {key: open_secret(keyring, _bound(client, name, key), value) for key, value in row.secrets.items()}
    return GatewayAccount(client=client, name=name, kind=row.kind, webhook_id=row.webhook_id,
                          settings=dict(row.settings), created_at=row.created_at, updated_at=row.updated_at,
                          secrets=opened)


async def account_of(s: AsyncSession, keyring: MasterKeyring, client: str, name: str) -> GatewayAccount | None:
    """The account with its credentials opened. Raises recaudo_common.secrets_at_rest.SecretUnreadable when one
    does not open (a master key removed too soon)."""
    row = (await s.execute(sql(f"SELECT {_COLUMNS} FROM payments.gateway_accounts WHERE client_slug = :c "
                               "AND name = :n"), {"c": client, "n": name})).first()
    return None if row is None else _account(keyring, row)


async def account_of_webhook(s: AsyncSession, keyring: MasterKeyring, webhook_id: str) -> GatewayAccount | None:
    row = (await s.execute(sql(f"SELECT {_COLUMNS} FROM payments.gateway_accounts WHERE webhook_id = :w"),
                           {"w": webhook_id})).first()
    return None if row is None else _account(keyring, row)


# ------------------------------------------------------------------ what each gateway payment was last said to be

@dataclass(frozen=True)
class PaymentState:
    """A gateway payment's state as last notified (and the ledger's payment it became, once applied)."""

    status: str
    payment_id: uuid.UUID | None


# A state a later notification may not undo here: money applied or taken back is the ledger's to change, and a
# payment the gateway voided never takes money (a stale approval retried after the void changes nothing).
FINAL = ("approved", "voided", "refunded", "charged_back")
# What a payment may no longer be applied after (declined or expired may still be approved later: PayU does).
NEVER_APPLIED_AFTER = ("voided", "refunded", "charged_back")


# The state a notification leaves (`p` the row, `excluded` the notification): a `pending` or `declined` after a
# final state is kept out, and so is a stale approval of a payment voided or taken back before it was applied (else
# the next delivery of that approval would find `approved` and apply it). The gateway's own word for it stays with
# the status it explains.
_STATUS_KEPT = """(p.status = ANY(:final) AND NOT excluded.status = ANY(:final))
                  OR (p.status = ANY(:never_applied_after) AND excluded.status = 'approved')"""
STATE_NOTIFIED = f"""status = CASE WHEN {_STATUS_KEPT} THEN p.status ELSE excluded.status END,
                     gateway_status = CASE WHEN {_STATUS_KEPT} THEN p.gateway_status
                                           ELSE excluded.gateway_status END"""
STATUS_PARAMETERS = {"final": list(FINAL), "never_applied_after": list(NEVER_APPLIED_AFTER)}


async def record_state(s: AsyncSession, *, gateway: str, gateway_payment_id: str, client: str, status: str,
                       gateway_status: str | None, reference: str | None, amount: Decimal, currency: str,
                       now: dt.datetime) -> PaymentState | None:
    """Records the state a payment was notified in; answers the state it had before (None: first seen). A
    `pending` or `declined` after an approval (a gateway's late or out-of-order delivery) is kept out, and so is
    an approval after a void, refund or chargeback (STATE_NOTIFIED)."""
    before = (await s.execute(sql(
        "SELECT status, payment_id FROM payments.gateway_payment_states WHERE gateway = :g "
        "AND gateway_payment_id = :x FOR UPDATE"), {"g": gateway, "x": gateway_payment_id})).first()
    await s.execute(sql(
        f"""INSERT INTO payments.gateway_payment_states AS p (gateway, gateway_payment_id, client_slug, status,
               gateway_status, reference, amount, currency, first_seen, last_seen)
           VALUES (:g, :x, :c, :st, :gst, :ref, :a, :cur, :now, :now)
           ON CONFLICT (gateway, gateway_payment_id) DO UPDATE SET last_seen = excluded.last_seen,
               {STATE_NOTIFIED}"""),
        {"g": gateway, "x": gateway_payment_id, "c": client, "st": status, "gst": gateway_status,
         "ref": reference, "a": amount, "cur": currency, "now": now, **STATUS_PARAMETERS})
    return None if before is None else PaymentState(before.status, before.payment_id)


async def link_payment(s: AsyncSession, gateway: str, gateway_payment_id: str, payment_id: uuid.UUID) -> None:
    await s.execute(sql("UPDATE payments.gateway_payment_states SET payment_id = :p WHERE gateway = :g "
                        "AND gateway_payment_id = :x"), {"g": gateway, "x": gateway_payment_id, "p": payment_id})


async def reversed_by_gateway(s: AsyncSession, gateway: str, payment_id: uuid.UUID, kind: str) -> Decimal:
    """What has been taken back of a payment toward a gateway's cumulative total of one kind (refunds,
    chargebacks): that gateway's own reversals of the kind, and an operator's by hand, which stand in for a refund
    the gateway could not confirm (docs/gateways.md: a PayU account without `api_login`). Counting the operator's
    may leave a later total short of what the gateway took back; not counting it would take the money back twice
    and chase the debtor for what they do not owe."""
    total = await s.scalar(sql(
        "SELECT coalesce(sum(amount), 0) FROM payments.reversals WHERE payment_id = :p "
        "AND ((gateway = :g AND kind = :k) OR gateway IS NULL)"), {"g": gateway, "p": payment_id, "k": kind})
    return Decimal(total)


async def approved_attempt(s: AsyncSession, gateway: str, gateway_payment_id: str) -> str | None:
    """The gateway's id of the attempt a payment was applied by (PayU's transaction_id under its reference)."""
    value = await s.scalar(sql(
        "SELECT approved_attempt FROM payments.gateway_payment_states WHERE gateway = :g AND gateway_payment_id = :x"),
        {"g": gateway, "x": gateway_payment_id})
    return None if value is None else str(value)


async def set_approved_attempt(s: AsyncSession, gateway: str, gateway_payment_id: str, attempt: str) -> None:
    await s.execute(sql("UPDATE payments.gateway_payment_states SET approved_attempt = :a WHERE gateway = :g "
                        "AND gateway_payment_id = :x"), {"g": gateway, "x": gateway_payment_id, "a": attempt})


async def lock_gateway_payment(s: AsyncSession, gateway: str, gateway_payment_id: str) -> None:
    """Serializes a payment's booking with the reversals naming it (held until commit): a reversal that finds no
    payment is either seen by the payment's booking or sees the payment, never neither."""
    await s.execute(sql("SELECT pg_advisory_xact_lock(hashtext('recaudo.payments.gateway/' || :g || '/' || :x))"),
                    {"g": gateway, "x": gateway_payment_id})


@dataclass(frozen=True)
class PendingReversal:
    """A refund or chargeback recorded before the payment it names was booked (amounts only)."""

    reversal_id: str
    refers_to: str
    kind: str
    amount: Decimal
    currency: str
    cumulative: bool


async def add_pending_reversal(s: AsyncSession, *, gateway: str, client: str, reversal: PendingReversal,
                               now: dt.datetime) -> bool:
    """Records it once per reversal id; False when it was already recorded."""
    row = (await s.execute(sql(
        """INSERT INTO payments.gateway_pending_reversals (gateway, reversal_id, refers_to, client_slug, kind, amount,
               currency, cumulative, received_at)
           VALUES (:g, :r, :x, :c, :k, :a, :cur, :cum, :now) ON CONFLICT DO NOTHING RETURNING reversal_id"""),
        {"g": gateway, "r": reversal.reversal_id, "x": reversal.refers_to, "c": client, "k": reversal.kind,
         "a": reversal.amount, "cur": reversal.currency, "cum": reversal.cumulative, "now": now})).first()
    return row is not None


async def take_pending_reversals(s: AsyncSession, *, gateway: str, refers_to: str,
                                 now: dt.datetime) -> list[PendingReversal]:
    """The reversals waiting for this payment, marked applied (in the caller's transaction), oldest first."""
    rows = (await s.execute(sql(
        """UPDATE payments.gateway_pending_reversals SET applied_at = :now
           WHERE gateway = :g AND refers_to = :x AND applied_at IS NULL
           RETURNING reversal_id, refers_to, kind, amount, currency, cumulative, received_at"""),
        {"g": gateway, "x": refers_to, "now": now})).all()
    ordered = sorted(rows, key=lambda r: (r.received_at, r.reversal_id))
    return [PendingReversal(r.reversal_id, r.refers_to, r.kind, Decimal(r.amount), r.currency, r.cumulative)
            for r in ordered]


async def unmatched_of_reference(s: AsyncSession, gateway: str, reference: str | None, reason: str) -> int:
    count = await s.scalar(sql(
        "SELECT count(*) FROM payments.payments WHERE gateway = :g AND reference = :r AND status = 'unmatched' "
        "AND unmatched_reason = :why"), {"g": gateway, "r": reference, "why": reason})
    return int(count or 0)


async def record_unconfirmed_refund(s: AsyncSession, *, gateway: str, client: str, reference: str, amount: Decimal,
                                    currency: str, now: dt.datetime) -> None:
    """Keeps a refund claim nobody could confirm, once per signed (reference, amount, currency): sent again, only
    when and how often."""
    await s.execute(sql(
        """INSERT INTO payments.gateway_unconfirmed_refunds AS u (gateway, client_slug, reference, amount, currency,
               first_seen, last_seen)
           VALUES (:g, :c, :r, :a, :cur, :now, :now)
           ON CONFLICT (gateway, reference, amount, currency) DO UPDATE SET last_seen = greatest(u.last_seen,
               excluded.last_seen), times = u.times + 1"""),
        {"g": gateway, "c": client, "r": reference, "a": amount, "cur": currency, "now": now})


@dataclass(frozen=True)
class UnconfirmedRefund:
    reference: str
    amount: Decimal
    currency: str
    first_seen: dt.datetime
    last_seen: dt.datetime
    times: int


# An unconfirmed refund's place in its list: when last sent, then its reference, amount and currency.
UnconfirmedRefundKey = tuple[dt.datetime, str, Decimal, str]


async def unconfirmed_refunds(s: AsyncSession, gateway: str, *, after: UnconfirmedRefundKey | None,
                              limit: int) -> list[UnconfirmedRefund]:
    """The most recently sent first, then by the key; those after `after` (the last one of the previous page)."""
    after_clause = ("AND (last_seen < :t OR (last_seen = :t AND (reference, amount, currency) > (:r, :a, :c))) "
                    if after else "")
    rows = (await s.execute(sql(
        "SELECT reference, amount, currency, first_seen, last_seen, times FROM payments.gateway_unconfirmed_refunds "
        f"WHERE gateway = :g {after_clause}ORDER BY last_seen DESC, reference, amount, currency LIMIT :n"),
        {"g": gateway, "n": limit, **({"t": after[0], "r": after[1], "a": after[2], "c": after[3]} if after else {})}
    )).all()
    return [UnconfirmedRefund(r.reference, Decimal(r.amount), r.currency, r.first_seen, r.last_seen, int(r.times))
            for r in rows]


async def record_reinstatement(s: AsyncSession, *, gateway: str, client: str, dispute_id: str, refers_to: str,
                               amount: Decimal, currency: str, now: dt.datetime) -> bool:
    """Records a dispute decided for the merchant once; False when it was already recorded."""
    row = (await s.execute(sql(
        """INSERT INTO payments.gateway_reinstatements (gateway, dispute_id, refers_to, client_slug, amount, currency,
               received_at) VALUES (:g, :d, :x, :c, :a, :cur, :now) ON CONFLICT DO NOTHING RETURNING dispute_id"""),
        {"g": gateway, "d": dispute_id, "x": refers_to, "c": client, "a": amount, "cur": currency,
         "now": now})).first()
    return row is not None


async def link_reinstatement(s: AsyncSession, gateway: str, dispute_id: str, payment_id: uuid.UUID) -> None:
    await s.execute(sql("UPDATE payments.gateway_reinstatements SET payment_id = :p WHERE gateway = :g "
                        "AND dispute_id = :d"), {"g": gateway, "d": dispute_id, "p": payment_id})


async def is_reinstated(s: AsyncSession, gateway: str, dispute_id: str) -> bool:
    """Whether the dispute of this id was decided for the merchant (its chargeback takes nothing)."""
    return bool(await s.scalar(sql("SELECT EXISTS (SELECT 1 FROM payments.gateway_reinstatements WHERE gateway = :g "
                                   "AND dispute_id = :d)"), {"g": gateway, "d": dispute_id}))
