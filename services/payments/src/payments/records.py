"""The typed values payments' layers pass one another: rows the store reads, and what a command answered (a
payment's and a reversal's answers are their wire contracts, payments.schemas: an Idempotency-Key stores them)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from recaudo_common.accounts import LedgerStatus


@dataclass(frozen=True)
class Placement:
    """An account to open in the ledger with its placed balance (from account.placed, or a restatement that
    arrived before its placement)."""

    client: str
    account_ref: str
    debtor_ref: uuid.UUID | None  # the person's pseudonym (None only from an event written before #19)
    debtor_id: str | None  # their id number, while they are not erased
    currency: str
    placed: Decimal
    event_id: uuid.UUID | None


@dataclass(frozen=True)
class Account:
    """An account's row in payments' ledger."""

    client_slug: str
    account_ref: str
    debtor_ref: uuid.UUID | None
    debtor_id: str | None
    currency: str
    balance: Decimal
    status: LedgerStatus
    recalled: bool
    written_off: Decimal = Decimal("0")  # written off and not recovered yet (#22)


@dataclass(frozen=True)
class OpenCommitments:
    """What an account has open that a payment may decide: an active arrangement (a settlement it may reach) and
    pending promises (it may keep one). Read with the account's lock, so most payments, to accounts with neither,
    skip looking for them."""

    arrangement: bool
    promises: bool


MAY_HAVE_COMMITMENTS = OpenCommitments(arrangement=True, promises=True)  # not read: look for both


@dataclass(frozen=True)
class Payment:
    """A payment as recorded: applied, in suspense (`unmatched`), or wholly reversed."""

    id: uuid.UUID
    client_slug: str
    account_ref: str | None
    claimed_account_ref: str | None
    amount: Decimal
    reversed_amount: Decimal
    currency: str
    paid_at: dt.datetime
    source: str
    method: str | None
    status: str
    content_sha256: str | None
    another_deposit: bool = False  # an operator said it is another deposit than the one it looked like
    answers: uuid.UUID | None = None  # held in suspense: the payment it may be the same deposit as


@dataclass(frozen=True)
class Reversal:
    """A reversal as recorded (an operator's, or a gateway's refund or chargeback)."""

    id: uuid.UUID
    payment_id: uuid.UUID
    kind: str
    amount: Decimal
    content_sha256: str | None


@dataclass(frozen=True)
class IdempotencyClaim:
    """What an Idempotency-Key already held: the hash of the request that took it, and the answer (JSON text) that
    request stored in the transaction that took it."""

    request_sha256: str
    response: str | None


@dataclass(frozen=True)
class RejectionSample:
    """What a refused webhook looked like: sizes and a hash, never the body (it may name a debtor) nor the
    signature header's text (the sender chose it)."""

    body_bytes: int
    body_sha256: str
    signature_header_chars: int | None


@dataclass(frozen=True)
class WebhookOutcome:
    """What a gateway's notification did, under the gateway's own id for it."""

    status: Literal["applied", "unmatched", "reversed", "duplicate"]
    payment_id: str


@dataclass(frozen=True)
class BookedPayment:
    """A gateway's payment applied to its account in a group commit (webhooks_together): its row, its ledger
    entry and its event, all written with those of the payments it was committed with."""

    payment_id: uuid.UUID
    client: str
    account_ref: str
    amount: Decimal
    currency: str
    paid_at: dt.datetime
    method: str | None
    reference: str | None
    gateway: str
    external_id: str
    content_sha256: str | None  # the payments API's own webhooks' fingerprint; None for a gateway's notification
    received_at: dt.datetime
