"""The contact.* events: outreach attempts, their outcomes, logged contacts, opt-outs and the best times to contact
learned from them (topic `contact`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from recaudo_common.events.channels import CHANNELS, Channel
from recaudo_common.events.envelope import Event, register


@register
class ContactAttempted(Event):
    type = "contact.attempted"
    family = "contact"
    producer = "outreach"
    summary = "A message or call was sent to a debtor through a channel provider."

    attempt_id: UUID
    account_ref: str
    channel: Channel
    provider: str
    attempted_at: dt.datetime
    cost: Decimal
    template: str | None = None
    simulated: bool = Field(False, description="the sandbox provider's: no real message was sent, so reporting "
                                               "records it but never counts it as a contact in its KPIs")


@register
class ContactAttemptedV2(ContactAttempted):
    """v2 (#22): the best-time experiment's arm of the attempt's account when its client company ran one as the
    attempt was planned. A consumer of v1 reads v2 alike (a v1 event is an attempt outside any experiment)."""

    version = 2
    summary = ("A message or call was sent to a debtor through a channel provider; v2 says in which arm of its "
               "client company's best-time experiment (best_time or first_slot) it was planned, if any.")
    best_time_arm: Literal["best_time", "first_slot"] | None = Field(
        None, description="best_time: placed in its best learned slot; first_slot: kept at the first allowed slot "
                          "(the experiment's control); null outside an experiment")


@register
class ContactBlocked(Event):
    type = "contact.blocked"
    family = "contact"
    producer = "outreach"
    summary = "The compliance engine refused an attempt; it was rescheduled to next_allowed_at."

    attempt_id: UUID
    account_ref: str
    channel: Channel
    decided_at: dt.datetime
    reasons: list[str]
    next_allowed_at: dt.datetime | None


@register
class ContactDelivered(Event):
    type = "contact.delivered"
    family = "contact"
    producer = "outreach"
    summary = "A provider confirmed delivery of an attempt."

    attempt_id: UUID
    account_ref: str
    channel: Channel
    delivered_at: dt.datetime


@register
class ContactFailed(Event):
    type = "contact.failed"
    family = "contact"
    producer = "outreach"
    summary = "A provider reported that an attempt failed, or its message could not be rendered within budget."

    attempt_id: UUID
    account_ref: str
    channel: Channel
    failed_at: dt.datetime
    reason: str


# Why a call handed out to an agent was withdrawn before it was made (outreach's withdrawals.py): a code, never the
# words said to the agent. The contact law's always-blocking reasons, and the facts that end all contact.
WithdrawalReason = Literal["account_recalled", "account_paid", "account_settled", "account_written_off",
                           "account_inactive", "opted_out", "do_not_contact", "legal_hold", "channel_not_authorised",
                           "person_erased", "not_pursued"]


@register
class ContactWithdrawn(Event):
    type = "contact.withdrawn"
    family = "contact"
    producer = "outreach"
    summary = ("An agent call handed out (and announced as contact.attempted) was withdrawn before it was made, "
               "for a fact that ends contact with the account (reason, a code): it is no attempt and no contact, and "
               "readers take back what its contact.attempted counted, once, in whichever order the two arrive.")

    attempt_id: UUID
    account_ref: str
    channel: Channel
    withdrawn_at: dt.datetime
    reason: WithdrawalReason


@register
class ContactLogged(Event):
    type = "contact.logged"
    family = "contact"
    producer = "outreach"
    summary = "An agent logged a contact made outside Recaudo, with its outcome."

    contact_id: UUID
    account_ref: str
    channel: Channel
    contacted_at: dt.datetime
    outcome: Literal["no_answer", "right_party", "third_party", "wrong_number", "refused", "promise_to_pay"]
    rule_violations: list[str] = []
    direction: Literal["outbound", "inbound"] = Field(
        "outbound", description="who started it: the agency (`outbound`), or the debtor, who phoned or wrote "
                                "(`inbound`, which the contact law does not limit)")


@register
class ContactReplied(Event):
    type = "contact.replied"
    family = "contact"
    producer = "outreach"
    summary = ("A debtor answered one of our messages or calls (an SMS, e-mail or WhatsApp reply, a key pressed on "
               "a call), not to opt out: the attempt answered and when, once per attempt. Never the text.")

    attempt_id: UUID
    account_ref: str
    channel: Channel
    replied_at: dt.datetime
    simulated: bool = Field(False, description="the sandbox provider's drawn reply: no debtor answered, so no "
                                               "model or KPI may count it")


@register
class ContactOptedOut(Event):
    type = "contact.opted_out"
    family = "contact"
    producer = "outreach"
    summary = "The debtor opted out of a channel (STOP, BAJA, NO MAS) or was put on do-not-contact."

    account_ref: str
    channel: Channel | Literal["all"]
    opted_out_at: dt.datetime
    source: str


@register
class ContactConsentRecorded(Event):
    type = "contact.consent_recorded"
    family = "contact"
    producer = "outreach"
    summary = ("Consent evidence was recorded for an account and channel: granted or withdrawn, by which source, "
               "when, on what reference and text. Carries no contact point. No longer produced "
               "(contact.consents_recorded carries an account's pieces in one event), still read from the log.")

    account_ref: str
    channel: Channel
    what: Literal["granted", "withdrawn"]
    source: str
    recorded_at: dt.datetime
    evidence: UUID | None = Field(None, description="what proves it: a portfolio, an attempt, an API key")
    text_version: str | None = Field(None, description="the short name of the text or version accepted")


# One act records at most a piece per channel for an account (a client file's grants and withdrawals); a batch that
# states an account twice makes more, sent in several events of this many.
MAX_CONSENT_PIECES = 2 * len(CHANNELS)


class ConsentPiece(BaseModel):
    """One channel's piece of consent evidence: granted or withdrawn, by which source, on what reference and text."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    channel: Channel
    what: Literal["granted", "withdrawn"]
    source: str
    evidence: UUID | None = Field(None, description="what proves it: a portfolio, an attempt, an API key")
    text_version: str | None = Field(None, description="the short name of the text or version accepted")


@register
class ContactConsentsRecorded(Event):
    """#24: a placement made one contact.consent_recorded per channel its client's file authorises, up to six per
    account, most of the contact topic during a large upload; one event per account and act carries them all."""

    type = "contact.consents_recorded"
    family = "contact"
    producer = "outreach"
    summary = ("Consent evidence was recorded for an account, all at recorded_at: pieces, in the order recorded, "
               "each a ConsentPiece {channel, what (granted or withdrawn), source, evidence (what proves it: a "
               "portfolio, an attempt, an API key), text_version (the text or version accepted)}, at most 12; an "
               "act that records more for one account sends several, in order. Carries no contact point.")

    account_ref: str
    recorded_at: dt.datetime
    pieces: list[ConsentPiece] = Field(min_length=1, max_length=MAX_CONSENT_PIECES)


# A relearning announces each segment and channel's few best slots, never all 168 of a week: the event stays small
# (a client company with many segments is capped whole, its most-messaged segments and channels first).
BEST_SLOTS_PER_CHANNEL = 3
MAX_BEST_SLOTS = 600


class BestSlot(BaseModel):
    """One learned slot of a segment on a channel: the debtor's local weekday and hour, its rank among the
    segment and channel's slots (1 = best), its shrunk rate of good outcomes and the messages it was learned from."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    segment: str = Field(min_length=1, max_length=200)
    channel: Channel
    rank: int = Field(ge=1, le=BEST_SLOTS_PER_CHANNEL)
    dow: int = Field(ge=0, le=6, description="the weekday in the debtor's local time, 0 = Monday")
    hour: int = Field(ge=0, le=23, description="the hour in the debtor's local time")
    label: str = Field(min_length=1, max_length=40, description="the slot in Spanish, as users read it: 'martes 19h'")
    rate: Decimal = Field(ge=0, le=1, decimal_places=4, description="the shrunk rate of good outcomes (reply, "
                                                                    "promise, payment), four decimal places")
    n: int = Field(ge=0, description="the messages sent in the slot over the lookback")


@register
class ContactBestTimesLearned(Event):
    type = "contact.best_times_learned"
    family = "contact"
    producer = "outreach"
    summary = ("Outreach relearned a client company's best times to contact: per segment and channel its best three "
               "slots, each a BestSlot {segment, channel, rank (1 = best), dow and hour (the debtor's local weekday, "
               "0 = Monday, and hour), label (Spanish, 'martes 19h'), rate (decimal string, four places), n (messages "
               "sent in it)}, at most 600. It replaces every earlier one of the client company (empty: nothing "
               "learned any more). Keyed by the client company; no personal data.")

    learned_at: dt.datetime
    slots: list[BestSlot] = Field(max_length=MAX_BEST_SLOTS)


# The consumer groups that read the contact topic (the services' contact lanes): a large upload's batches also
# wait while any of them is far behind (ingest's bulk lane: its accounts make outreach record consents there).
# tests/unit/test_account_readers.py checks it against the services' own subscriptions.
CONTACT_READERS = ("segmentation-contacts", "reporting-contacts")
