"""One account's debtor as every feature sees it: what the contact law asks about (consent, holds, history,
the client company's rules) and what a message or the debtor page shows (name, balance, offer)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import RowMapping

from outreach.domain.client_rules import RulesOverride
from outreach.domain.collection_holds import Hold, PendingPromise, collection_hold
from outreach.domain.contact_law import (
    ContactDecision,
    ContactRequest,
    CountryRules,
    PastContact,
    decide_contact,
    stricter_rules,
)
from outreach.domain.timezones import debtor_zone, phone_zones
from recaudo_common.accounts import days_past_due_on
from recaudo_common.clock import local_today

PHONE_CHANNELS = frozenset({"sms", "whatsapp", "voice", "agent"})


@dataclass(frozen=True)
class DebtorContext:
    """An account, its debtor and its client company at one instant (store.contact_context reads it)."""

    client: str
    account_ref: str
    debtor_id: str
    full_name: str
    phones: tuple[str, ...]
    email: str | None
    address: str | None
    region: str | None
    balance: Decimal
    currency: str
    account_status: str
    authorised_channels: tuple[str, ...]
    creditor: str
    country: str
    timezone: str
    locale: str
    promise_window_days: int
    client_rules: RulesOverride | None  # the client company's stricter rules, if it set any
    days_past_due: int | None
    offer: str | None
    offer_discount_pct: Decimal | None
    expected_net_recovery: Decimal | None
    do_not_contact: bool
    opted_out: frozenset[str]
    legal_hold: str | None
    history: tuple[PastContact, ...]  # the debtor's contacts of the last week, at every account
    dpd_as_of: dt.date | None = None  # the client company's day days_past_due are for (account.segmented v2)
    aging_held: bool | None = None  # whether they stand still from it (a plan, a closed account)
    # What may hold the account's collection contacts: its pending promises, and the instalments' due dates of each
    # arrangement standing on it (store.COLLECTION_HOLDS; a row read without them holds nothing)
    promises: tuple[PendingPromise, ...] = ()
    plans: tuple[tuple[dt.date, ...], ...] = ()

    @classmethod
    def of(cls, row: RowMapping) -> DebtorContext:
        """From a row of the store's context query (its columns, as selected there)."""
        history = row["history"] or []  # None: read without it (store.HELD_DEBTOR_COLUMNS), filled in once held
        history = json.loads(history) if isinstance(history, str) else history
        return cls(
            client=row["client_slug"], account_ref=row["account_ref"], debtor_id=row["debtor_id"],
            full_name=row["full_name"], phones=tuple(row["phones"] or ()), email=row["email"],
            address=row["address"], region=row["region"], balance=Decimal(row["balance"]), currency=row["currency"],
            account_status=row["account_status"],
            authorised_channels=tuple(row["authorised_channels"] or row["default_authorised_channels"] or ()),
            creditor=row["creditor"], country=row["country"], timezone=str(row["timezone"]), locale=row["locale"],
            promise_window_days=int(row["promise_window_days"]),
            client_rules=RulesOverride.from_document(row["client_rules"]),
            days_past_due=row["days_past_due"], offer=row["offer"], offer_discount_pct=row["offer_discount_pct"],
            expected_net_recovery=row["expected_net_recovery"], do_not_contact=bool(row["do_not_contact"]),
            opted_out=frozenset(row["opted_out"] or ()), legal_hold=row["legal_hold"],
            history=tuple(PastContact(dt.datetime.fromisoformat(h["at"]), h["channel"], bool(h["conversation"]),
                                      h["account_ref"], h.get("direction") == "inbound") for h in history),
            dpd_as_of=row.get("dpd_as_of"), aging_held=row.get("aging_held"),
            promises=(holds := collection_holds_of(row))[0], plans=holds[1])

    def hold(self, now: dt.datetime) -> Hold | None:
        """The collection hold the account is under at `now` (a pending promise, a standing arrangement), or None."""
        return collection_hold(now, promises=self.promises, arrangements=self.plans, timezone=self.timezone,
                               window_days=self.promise_window_days)

    def days_past_due_at(self, now: dt.datetime) -> int:
        """The days past due to show at `now`: segmentation's last word on them, aged one a day on the client
        company's calendar unless held (a message, the debtor page and the agent desk say today's, not those of the
        account's last assignment: the daily aging emits only when the bucket changes). 0 when none was said."""
        return days_past_due_on(local_today(self.timezone, now), days_past_due=self.days_past_due,
                                as_of=self.dpd_as_of, aging_held=self.aging_held, status=self.account_status) or 0

    @property
    def first_name(self) -> str:
        """How a message greets the debtor: the first of their names, capitalised."""
        parts = self.full_name.split()
        return parts[0].capitalize() if parts else ""


def collection_holds_of(row: RowMapping) -> tuple[tuple[PendingPromise, ...], tuple[tuple[dt.date, ...], ...]]:
    """DebtorContext's promises and plans from a row read with store.COLLECTION_HOLDS (none from a row without)."""
    return (tuple(PendingPromise(dt.date.fromisoformat(p["due_date"]), dt.datetime.fromisoformat(p["made_at"]))
                  for p in _json(row.get("pending_promises"))),
            tuple(tuple(dt.date.fromisoformat(i["due_date"]) for i in plan)
                  for plan in _json(row.get("standing_plans"))))


def _json(value: object) -> list[Any]:
    found = json.loads(value) if isinstance(value, str) else value
    return list(found) if isinstance(found, list) else []


def decide_collection(debtor: DebtorContext, channel: str, at: dt.datetime,
                      earlier_in_batch: tuple[PastContact, ...] = (), *, held: bool = True) -> ContactDecision:
    """The contact law's decision on a collection contact, held while a promise or an arrangement holds the account:
    not allowed, the hold's reason first, and allowed again at the first instant the law allows from the hold's end.
    What the law never allows (an opt-out, a legal hold, a closed account) stays its decision, with no instant.
    `held` False: a contact no hold stops (a payment's confirmation)."""
    request = contact_request(debtor, channel, at, earlier_in_batch)
    decision = decide_contact(request)
    hold = debtor.hold(at) if held else None
    if hold is None or (not decision.allowed and decision.next_allowed_at is None):
        return decision
    then = decide_contact(replace(request, at=hold.until))
    return ContactDecision(False, (hold.reason, *decision.reasons),
                           hold.until if then.allowed else then.next_allowed_at, decision.local_time)


def contact_request(debtor: DebtorContext, channel: str, at: dt.datetime,
                    earlier_in_batch: tuple[PastContact, ...] = ()) -> ContactRequest:
    """The contact law's question about this debtor; contacts decided earlier in the same batch count too (the
    debtor's history was read before them)."""
    return ContactRequest(
        country=debtor.country, timezone=debtor_zone(debtor.country, debtor.region, debtor.timezone),
        channel=channel, at=at, authorised_channels=debtor.authorised_channels,
        history=debtor.history + earlier_in_batch, opted_out=debtor.opted_out, do_not_contact=debtor.do_not_contact,
        account_status=debtor.account_status, legal_hold=debtor.legal_hold,
        rules=rules_of(debtor), account_ref=debtor.account_ref,
        also_zones=zones_of_phones(debtor.phones))


def zones_of_phones(phones: tuple[str, ...]) -> tuple[str, ...]:
    """Where the debtor's phones say they may be: every number on file, not only the one dialled (Regulation F,
    comment 6(b)(1)(i)-1: with conflicting information a contact must be convenient at every location it points
    to; a New York and a Los Angeles number are both the debtor's)."""
    return tuple(dict.fromkeys(zone for phone in phones for zone in phone_zones(phone)))


def rules_of(debtor: DebtorContext) -> CountryRules:
    """The contact law of the debtor's country, narrowed by the client company's own rules."""
    return stricter_rules(debtor.country, debtor.client_rules.document() if debtor.client_rules else None)


def recipient(channel: str, *, phones: tuple[str, ...], email: str | None, address: str | None) -> str | None:
    """Where a message on this channel goes: the first phone, the e-mail, or the postal address (a letter)."""
    if channel in PHONE_CHANNELS:
        return phones[0] if phones else None
    if channel == "email":
        return email or None
    return address or None


def recipient_of(debtor: DebtorContext, channel: str) -> str | None:
    return recipient(channel, phones=debtor.phones, email=debtor.email, address=debtor.address)


def decision_detail(d: ContactDecision) -> dict[str, object]:
    """A contact decision as the audit trail keeps it."""
    return {"allowed": d.allowed, "reasons": list(d.reasons), "local_time": d.local_time.isoformat(),
            "next_allowed_at": d.next_allowed_at.isoformat() if d.next_allowed_at else None}
