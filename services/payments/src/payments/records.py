"""The typed values payments' layers pass one another: rows the store reads, and what a command answered."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from recaudo_common.accounts import LedgerStatus


@dataclass(frozen=True)
class Placement:
    """An account to open in the ledger with its placed balance (from account.placed, or a restatement that
    arrived before its placement)."""

    client: str
    account_ref: str
    debtor_id: str
    currency: str
    placed: Decimal
    event_id: uuid.UUID | None


@dataclass(frozen=True)
class Account:
    """An account's row in payments' ledger."""

    client_slug: str
    account_ref: str
    debtor_id: str
    currency: str
    balance: Decimal
    status: LedgerStatus
    recalled: bool


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


@dataclass(frozen=True)
class Reversal:
    """A reversal as recorded (an operator's, or a gateway's refund or chargeback)."""

    id: uuid.UUID
    payment_id: uuid.UUID
    kind: str
    amount: Decimal
    content_sha256: str | None


@dataclass(frozen=True)
class SuspenseItem:
    """A payment in the suspense queue with what the payer and the gateway said about it."""

    id: uuid.UUID
    amount: Decimal
    currency: str
    paid_at: dt.datetime
    source: str
    method: str | None
    gateway: str | None
    gateway_payment_id: str | None
    account_ref_given: str | None
    reference: str | None
    debtor_id_given: str | None
    reason: str | None
    received_at: dt.datetime


@dataclass(frozen=True)
class IdempotencyClaim:
    """What an Idempotency-Key already held: the hash of the request that took it, and its answer (JSON text;
    none while that request's transaction is still running or if it stored none)."""

    request_sha256: str
    response: str | None


@dataclass(frozen=True)
class WebhookRejection:
    """Refused webhooks of one (gateway, source address, reason); `folded` holds what the row cap folded away."""

    id: int
    gateway: str | None
    source_address: str | None
    reason: str
    count: int
    first_seen: dt.datetime
    last_seen: dt.datetime
    sample: dict[str, Any]  # JSONB: the latest refused request's shape (sizes and a hash), empty when folded
    folded: bool
    received_at: dt.datetime


@dataclass(frozen=True)
class RejectionSample:
    """What a refused webhook looked like: sizes and a hash, never the body (it may name a debtor) nor the
    signature header's text (the sender chose it)."""

    body_bytes: int
    body_sha256: str
    signature_header_chars: int | None


class PaymentOutcome(BaseModel):
    """What a recorded payment became; also what its Idempotency-Key answers (stored as JSON, so a model)."""

    model_config = ConfigDict(frozen=True)
    id: uuid.UUID
    status: Literal["applied", "unmatched"]
    amount: Decimal
    currency: str
    account_ref: str | None = None
    matched_by: str | None = None
    reason: str | None = None
    new_balance: Decimal | None = None
    credit: Decimal | None = None
    account_status: str | None = None


class ReversalOutcome(BaseModel):
    """What a reversal took back, or `duplicate` when nothing remained; what its Idempotency-Key answers."""

    model_config = ConfigDict(frozen=True)
    status: Literal["reversed", "duplicate"]
    id: uuid.UUID
    reversal_id: uuid.UUID | None = None
    kind: str | None = None
    amount: Decimal | None = None
    payment_amount: Decimal | None = None
    reversed_total: Decimal | None = None
    remaining: Decimal | None = None
    account_ref: str | None = None
    new_balance: Decimal | None = None
    account_status: str | None = None


@dataclass(frozen=True)
class WebhookOutcome:
    """What a gateway's notification did, under the gateway's own id for it."""

    status: Literal["applied", "unmatched", "reversed", "duplicate"]
    payment_id: str
