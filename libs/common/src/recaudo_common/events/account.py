"""The account.* events: an account placed, restated, recalled, segmented, settled or put on legal hold."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import Field

from recaudo_common.events.channels import Channel
from recaudo_common.events.envelope import Event, register
from recaudo_common.personal_data.sealing import PersonalData

# Why an operator stops all contact with an account until the hold is lifted.
LegalHold = Literal["dispute", "deceased", "insolvency", "litigation"]


class AccountStated(Event):
    """An account as the client company states it in a portfolio file. Version 2: the debtor travels only as a
    pseudonymous `debtor_ref` and their personal data sealed with their own key (`personal`), never in clear."""

    version = 2

    account_ref: str
    portfolio_id: UUID
    debtor_ref: UUID | None = Field(description=(
        "The debtor's pseudonymous id: a random UUID per person and client company, kept by the vault and never "
        "derived from the id number; the same for every account of that person. Null only in a version 1 event "
        "written before #19 and upcast on reading."))
    personal: str | None = Field(description=(
        "The debtor's personal data (full_name, id_number, id_type, phones, email, address), sealed with the "
        "person's own key (AES-256-GCM, `v1.<nonce>.<ciphertext>`, recaudo_common.personal_data.seal, bound "
        "to client/debtor_ref); unreadable by anyone once the person is erased (the key shredded). Open it with "
        "recaudo_common.personal_data.personal_of. Null only in an upcast version 1 event."))
    has_phone: bool = Field(description="whether the debtor has at least one phone (not personal: for segmentation)")
    has_email: bool = Field(description="whether the debtor has an e-mail address (not personal: for segmentation)")
    city: str | None = None
    region: str | None = None
    product: str | None = None
    original_amount: Decimal | None = None
    balance: Decimal
    currency: str
    due_date: dt.date | None = None
    days_past_due: int = Field(description="days past due as of `as_of`")
    as_of: dt.date
    authorised_channels: list[Channel]
    last_payment_date: dt.date | None = None
    last_payment_amount: Decimal | None = None
    # No `extra` since version 2: a file's other columns are free text that may name or reach anyone (a
    # co-debtor, a work phone), and no consumer needs them; they stay in ingest, erased with the person.
    @property
    def legacy_personal(self) -> PersonalData | None:
        """The plaintext of a version 1 event read from an old log (upcast), never serialised: `personal_of` falls
        back to it, so an event written before #19 still places its account. None but in such an event, which the
        upcast gives as a subclass of its own (account_v1.LegacyStated): a private attribute on every statement
        cost each one's validation a call into Python, a quarter of decoding an account.placed (#24)."""
        return None


@register
class AccountPlaced(AccountStated):
    type = "account.placed"
    family = "account"
    producer = "ingest"
    summary = "An account was placed with the agency for the first time."


@register
class AccountUpdated(AccountStated):
    type = "account.updated"
    family = "account"
    producer = "ingest"
    summary = "A later portfolio restated a known account (balance, contact data, days past due)."

    previous_balance: Decimal


# Who did something, as an event names them: the API key's id or the signed-in user's id, never their e-mail or
# name (personal data of the agency's staff, on a topic kept where no erasure reaches). GET /v1/users/{id} or the
# key listing names them, to whoever may see that.
ACTOR_ID_PATTERN = r"^(key|user):[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


@register
class AccountContactRectified(Event):
    type = "account.contact_rectified"
    family = "account"
    producer = "ingest"
    summary = ("An operator corrected the debtor's contact points on the debtor's request (rectification); "
               "`personal` is the corrected data, sealed; who is named by id, and the values and the operator's "
               "reason stay with ingest's rectification record.")

    account_ref: str
    debtor_ref: UUID
    personal: str
    has_phone: bool
    has_email: bool
    fields: list[Literal["phones", "email", "address"]] = Field(description="which contact points changed")
    # Every event ingest ever published says key:<id> or user:<id> (bf05726, 1561651), so the pattern refuses none
    # already on the topic; it keeps an e-mail or a name from ever being written there.
    rectified_by: str = Field(pattern=ACTOR_ID_PATTERN, description=(
        "who made the correction: `key:<API key id>` or `user:<user id>`, never an e-mail or a name"))
    reason: str | None = Field(None, description=(
        "not sent: the operator's words may name the person and this topic is kept forever, so they stay with the "
        "rectification in ingest (ingest.rectifications); only events published before carry one"))
    rectified_at: dt.datetime


@register
class AccountPseudonymised(Event):
    type = "account.pseudonymised"
    family = "account"
    producer = "ingest"
    summary = ("An account placed before #19 got its debtor's pseudonym and sealed data (a one-off migration, once "
               "per account): consumers record debtor_ref and drop any plaintext copy they can now do without; "
               "nothing else about the account changes.")

    account_ref: str
    debtor_ref: UUID
    personal: str
    has_phone: bool
    has_email: bool
    pseudonymised_at: dt.datetime


@register
class AccountRecalled(Event):
    type = "account.recalled"
    family = "account"
    producer = "ingest"
    summary = "The client company took the account back; all contact stops at once."

    account_ref: str
    recalled_at: dt.datetime
    reason: str | None = Field(None, description=(
        "not sent: the client company's words may name the person and this topic is kept forever, so they stay "
        "with the recall in ingest; only events published before carry one, and no service reads it"))


@register
class AccountSegmented(Event):
    type = "account.segmented"
    family = "account"
    producer = "segmentation"
    summary = "The account was (re)assigned a bucket, segment and treatment, with the reasons why."

    account_ref: str
    days_past_due: int
    bucket: str
    bucket_at_placement: str
    segment: str
    treatment: str
    channels: list[Channel]
    propensity: Decimal
    cost_to_collect: Decimal
    expected_net_recovery: Decimal
    strategy_version: int
    strategy_arm: Literal["champion", "challenger"]
    model_version: str
    why: str
    trigger: str
    value_tier: str | None = None
    cadence_days: int | None = None
    offer: Literal["none", "settlement", "instalment_plan", "do_not_pursue"] | None = None
    offer_discount_pct: Decimal | None = None
    offer_instalments: int | None = None


@register
class AccountSegmentedV2(AccountSegmented):
    """v2: the bounds of `bucket` in the client company's bucket set, so a consumer can order and class buckets
    whatever their labels (roll and cure rates); and the day `days_past_due` is for and whether they stand still
    from it, so a consumer shows today's days past due between assignments (the daily aging emits one only when
    the bucket changes) without restating segmentation's aging. A consumer of v1 reads v2 alike; a v1 event says
    only the label, and a v2 event written before `as_of` and `aging_held` leaves both null."""

    version = 2
    summary = ("The account was (re)assigned a bucket, segment and treatment, with the reasons why; v2 says the "
               "bucket's bounds in days past due, the day `days_past_due` is for, and whether it stands still "
               "from that day.")

    bucket_low: int = Field(description="the bucket's first day past due (inclusive; 0 or below: not yet due)")
    bucket_high: int = Field(description="the bucket's last day past due (inclusive)")
    as_of: dt.date | None = Field(None, description=(
        "the client company's local day `days_past_due` is for (the day of the assignment); null only in an event "
        "written before it was added"))
    aging_held: bool | None = Field(None, description=(
        "whether days past due stand still from `as_of` (MISSION §5): an instalment plan holds the account's aging, "
        "or the account is no longer open (paid, settled, written off, recalled); false: they grow one a day, and "
        "the next event comes only when the bucket changes. Null only in an event written before it was added"))


@register
class AccountSettled(Event):
    type = "account.settled"
    family = "account"
    producer = "payments"
    summary = "A settlement was paid in full: the account is closed as settled."

    account_ref: str
    arrangement_id: UUID | None = None
    settled_at: dt.datetime


@register
class AccountLegalHoldSet(Event):
    type = "account.legal_hold_set"
    family = "account"
    producer = "outreach"
    summary = "An operator set a legal hold (dispute, deceased, insolvency, litigation); contact stops."

    account_ref: str
    hold: LegalHold
    set_at: dt.datetime


@register
class AccountLegalHoldLifted(Event):
    type = "account.legal_hold_lifted"
    family = "account"
    producer = "outreach"
    summary = "An operator lifted a legal hold."

    account_ref: str
    hold: LegalHold
    lifted_at: dt.datetime


# The services that read the account topic: a large upload's batches wait while any of them is far behind (ingest's
# bulk lane). tests/unit/test_cli.py checks it against the services' own subscriptions.
ACCOUNT_READERS = ("segmentation", "outreach", "payments", "reporting")
