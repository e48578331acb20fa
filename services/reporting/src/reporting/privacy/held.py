"""What reporting holds about one person's accounts, for an access request: the accounts with the sealed copy of
their data, contacts, payments, promises, arrangements, legal holds and consent evidence."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.db import sql
from reporting.rows import ArrangementRow


@dataclass(frozen=True)
class HeldAccount:
    account_ref: str
    product: str | None
    placed_balance: Decimal
    balance: Decimal
    status: str
    placed_at: dt.datetime
    recalled_at: dt.datetime | None
    personal: str | None  # sealed; opened only with the person's key
    personal_at: dt.datetime | None


@dataclass(frozen=True)
class HeldContact:
    account_ref: str
    channel: str
    template: str | None
    at: dt.datetime
    attempted: bool
    delivered: bool
    outcome: str | None


@dataclass(frozen=True)
class HeldPayment:
    account_ref: str
    payment_id: uuid.UUID
    amount: Decimal
    reversed_amount: Decimal
    paid_at: dt.datetime


@dataclass(frozen=True)
class HeldPromise:
    account_ref: str
    promise_id: uuid.UUID
    amount: Decimal | None
    due_date: dt.date | None
    made_at: dt.datetime | None
    source: str | None
    result: str | None
    decided_at: dt.datetime | None


@dataclass(frozen=True)
class HeldArrangement(ArrangementRow):
    """An arrangement as the account view reads it, with the account it is on."""

    account_ref: str


@dataclass(frozen=True)
class HeldHold:
    account_ref: str
    hold: str
    what: str
    at: dt.datetime


@dataclass(frozen=True)
class HeldConsent:
    account_ref: str
    channel: str
    what: str
    source: str
    recorded_at: dt.datetime
    evidence: uuid.UUID | None
    text_version: str | None


@dataclass(frozen=True)
class Held:
    """Everything about the person's accounts, in the order each happened."""

    accounts: list[HeldAccount]
    contacts: list[HeldContact]
    payments: list[HeldPayment]
    promises: list[HeldPromise]
    arrangements: list[HeldArrangement]
    holds: list[HeldHold]
    consents: list[HeldConsent]

    def latest_sealed(self) -> HeldAccount | None:
        """The account with the most recent sealed copy of the person's data (a rectification or restatement)."""
        sealed = [a for a in self.accounts if a.personal is not None and a.personal_at is not None]
        return max(sealed, key=lambda a: (a.personal_at, a.account_ref)) if sealed else None


QUERIES = {
    "contacts": ("SELECT account_ref, channel, template, at, attempted, delivered, outcome FROM reporting.contacts "
                 "WHERE {mine} ORDER BY at, id"),
    "payments": ("SELECT account_ref, payment_id, amount, reversed_amount, paid_at FROM reporting.payments "
                 "WHERE {mine} ORDER BY paid_at, payment_id"),
    "promises": ("SELECT account_ref, promise_id, amount, due_date, made_at, source, result, decided_at "
                 "FROM reporting.promises WHERE {mine} ORDER BY made_at NULLS LAST, promise_id"),
    "arrangements": ("SELECT account_ref, arrangement_id, kind, total_amount, instalments, source, made_at, result, "
                     "decided_at FROM reporting.arrangements WHERE {mine} ORDER BY made_at NULLS LAST, "
                     "arrangement_id"),
    "holds": "SELECT account_ref, hold, what, at FROM reporting.legal_holds WHERE {mine} ORDER BY at, event_id",
    "consents": ("SELECT account_ref, channel, what, source, recorded_at, evidence, text_version "
                 "FROM reporting.consents WHERE {mine} ORDER BY recorded_at, event_id, piece"),
}
MINE = "client_slug = :c AND account_ref = ANY(CAST(:refs AS text[]))"


async def held_about(s: AsyncSession, client: str, debtor_ref: uuid.UUID) -> Held:
    """Everything reporting holds about the person's accounts with the client company (none: empty lists)."""
    accounts = [HeldAccount(**r) for r in (await s.execute(sql(
        "SELECT account_ref, product, placed_balance, balance, status, placed_at, recalled_at, personal, personal_at "
        "FROM reporting.accounts WHERE client_slug = :c AND debtor_ref = :d ORDER BY placed_at, account_ref"),
        {"c": client, "d": debtor_ref})).mappings().all()]
    params = {"c": client, "refs": [a.account_ref for a in accounts]}

    async def rows(name: str) -> Sequence[RowMapping]:
        return (await s.execute(sql(QUERIES[name].format(mine=MINE)), params)).mappings().all()

    return Held(
        accounts=accounts,
        contacts=[HeldContact(**r) for r in await rows("contacts")],
        payments=[HeldPayment(**r) for r in await rows("payments")],
        promises=[HeldPromise(**r) for r in await rows("promises")],
        arrangements=[HeldArrangement(**r) for r in await rows("arrangements")],
        holds=[HeldHold(**r) for r in await rows("holds")],
        consents=[HeldConsent(**r) for r in await rows("consents")],
    )
