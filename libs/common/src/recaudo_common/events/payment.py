"""The payment.* events: payments applied, reversed (v1 and v2) or left unmatched in suspense, restated balances
adjusted, accounts written off and money recovered after a write-off (topic `payment`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from recaudo_common.accounts import LedgerStatus
from recaudo_common.events.envelope import Event, register
from recaudo_common.events.payment_methods import PaymentMethod, payment_method_of

PaymentSource = Literal["gateway", "bank_file", "manual"]  # how a payment reached the platform


class _PaymentAppliedFields(Event):
    payment_id: UUID
    account_ref: str
    amount: Decimal
    currency: str
    paid_at: dt.datetime
    source: PaymentSource
    new_balance: Decimal
    credit: Decimal = Decimal("0")
    account_status: LedgerStatus


@register
class PaymentApplied(_PaymentAppliedFields):
    """v2: `method` is one of the platform's payment methods, never the words its source gave (v1 carried an
    operator's, a bank file's or a gateway's text as given, up to 50 characters, which may name the payer:
    'transferencia de Ana Gómez CC 1020304050'; those words stay in payments' own table, erased with the
    person). A consumer of v1 reads v2 alike; v1 events still on the topic are upcast, their text classified."""

    type = "payment.applied"
    family = "payment"
    producer = "payments"
    version = 2
    summary = "A payment was applied to an account's ledger exactly once."

    method: PaymentMethod | None = Field(None, description=(
        "how it was paid, in the platform's vocabulary (none when its source did not say); the source's own words "
        "stay with payments"))


@register
class PaymentAppliedV1(_PaymentAppliedFields):
    type = "payment.applied"
    family = "payment"
    producer = "payments"
    summary = ("Version 1, read only: upcast to version 2 on decoding, its `method` text classified (an unknown "
               "text is `other`) and never passed on.")

    method: str | None = None

    def upcast(self) -> Event:
        return PaymentApplied.model_validate({**dict(self), "method": payment_method_of(self.method)})


@register
class PaymentReversed(Event):
    type = "payment.reversed"
    family = "payment"
    producer = "payments"
    summary = ("A payment was reversed, refunded or charged back, always in full; the account reopens. "
               "No longer produced (v2 replaced it), still read from the log.")

    payment_id: UUID
    reversal_id: UUID
    account_ref: str
    amount: Decimal
    kind: Literal["reversal", "refund", "chargeback"]
    reversed_at: dt.datetime
    new_balance: Decimal
    account_status: LedgerStatus


@register
class PaymentReversedV2(PaymentReversed):
    """v2: reversals may be partial. `amount` is what this reversal takes back (in v1 it was always the whole
    payment); `payment_amount` and `reversed_total` say how much of the payment is reversed so far. A consumer
    that adds `amount` to what it counts as reversed handles both versions alike; one that took `amount` for the
    whole payment must move to v2 (it cannot decode v2: it dead-letters the event, to be replayed once upgraded,
    rather than miscount)."""

    version = 2
    summary = "A payment was reversed, refunded or charged back, wholly or in part; the account reopens."

    payment_amount: Decimal = Field(description="the payment's whole amount")
    reversed_total: Decimal = Field(description="reversed of the payment so far, this reversal included")


@register
class PaymentReversedV3(PaymentReversedV2):
    """v3 (#22): `written_off_again`, the part of this reversal that took back money the payment had recovered on
    a written-off account, now written off again (docs/write-off.md). A consumer of v2 reads v3 alike; one that
    counts recovered written-off money subtracts it."""

    version = 3
    summary = ("A payment was reversed, refunded or charged back, wholly or in part; the account reopens, or, for "
               "what the payment had recovered of written-off money, is written off again.")

    written_off_again: Decimal = Field(Decimal(0), description="of `amount`, written-off money the payment had "
                                                               "recovered, written off again (0 for most reversals)")


@register
class PaymentUnmatched(Event):
    type = "payment.unmatched"
    family = "payment"
    producer = "payments"
    summary = "A payment matched no account and waits in the suspense queue for an operator."

    payment_id: UUID
    amount: Decimal
    currency: str
    paid_at: dt.datetime
    source: PaymentSource
    reason: str


@register
class PaymentAdjusted(Event):
    type = "payment.adjusted"
    family = "payment"
    producer = "payments"
    summary = ("The client company restated an account's balance (account.updated) and the ledger booked the change "
               "as an adjustment: what is left to pay and the account's status after it (a paid account owed again "
               "is open; a settled one stays settled). Keyed by the account, in order with its payments.")

    account_ref: str
    amount: Decimal = Field(description="the adjustment: the stated balance's change (negative when it fell)")
    currency: str
    adjusted_at: dt.datetime
    new_balance: Decimal = Field(description="what is left to pay after it (negative: the debtor's credit)")
    account_status: LedgerStatus


WriteOffReason = Literal["uneconomic", "deceased", "statute_barred", "insolvency", "fraud", "other"]
WriteOffSource = Literal["operator", "strategy"]  # an operator's decision, or the client company's rules


@register
class PaymentWrittenOff(Event):
    type = "payment.written_off"
    family = "payment"
    producer = "payments"
    summary = ("An account was written off, wholly or in part, by a ledger entry: the amount leaves what is left "
               "to pay. Keyed by the account, in order with its payments. The operator's note is not on the wire.")

    write_off_id: UUID
    account_ref: str
    amount: Decimal = Field(description="what this write-off took off the balance")
    currency: str
    reason: WriteOffReason
    source: WriteOffSource
    written_off_at: dt.datetime
    new_balance: Decimal = Field(description="what is left to pay after it (0 when the whole balance was written off)")
    written_off_total: Decimal = Field(description="written off on the account and not recovered, this one included")
    account_status: LedgerStatus


@register
class PaymentWriteOffRecovered(Event):
    type = "payment.write_off_recovered"
    family = "payment"
    producer = "payments"
    summary = ("Part of a payment recovered money written off on its account (it follows that payment's "
               "payment.applied): the written-off amount left falls by `amount`.")

    payment_id: UUID
    account_ref: str
    amount: Decimal = Field(description="of the payment, what recovered written-off money")
    recovered_at: dt.datetime
    written_off_total: Decimal = Field(description="written off on the account and still not recovered")
    account_status: LedgerStatus


@register
class PaymentWriteOffReversed(Event):
    type = "payment.write_off_reversed"
    family = "payment"
    producer = "payments"
    summary = ("An operator reversed an account's write-off: the written-off money not recovered is owed again "
               "and the account is open again. The operator's reason is not on the wire.")

    account_ref: str
    amount: Decimal = Field(description="written-off money put back on what is left to pay")
    reversed_at: dt.datetime
    new_balance: Decimal
    account_status: LedgerStatus


CheckoutStatus = Literal["created", "pending", "approved", "declined", "expired"]


class CashVoucher(BaseModel):
    """What a debtor takes to a cash point (Efecty, Baloto, a corresponsal, OXXO, PagoEfectivo): the gateway's
    payment reference, when it stops being payable and the gateway's printable voucher. Nothing about the payer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    network: str = Field(description="the cash network, as the gateway names it (efecty, baloto, oxxo, ...)")
    reference: str = Field(description="the number the debtor gives at the cash point")
    expires_at: dt.datetime | None = None
    voucher_url: str | None = Field(default=None, description="the gateway's printable voucher, when it has one")


@register
class CheckoutUpdated(Event):
    type = "payment.checkout_updated"
    family = "payment"
    producer = "payments"
    summary = ("A debtor's checkout at a client company's gateway changed state: created, pending (a cash voucher "
               "waits to be paid), approved, declined or expired. Outreach confirms it to the debtor by message.")

    reference: str = Field(description="the platform's payment reference the checkout carries to the gateway")
    account_ref: str
    gateway: str = Field(description="the gateway's kind: wompi, mercadopago, payu or stripe")
    method: Literal["online", "cash"]
    status: CheckoutStatus
    amount: Decimal
    currency: str
    voucher: CashVoucher | None = None
    changed_at: dt.datetime


@register
class PaymentMethodsAvailable(Event):
    type = "payment.methods_available"
    family = "payment"
    producer = "payments"
    summary = ("Which ways to pay the debtor page can offer for a client company, from its gateway accounts: a "
               "hosted online checkout, cash vouchers (and their networks). Keyed by the client company.")

    online: bool
    cash_networks: list[str] = Field(default_factory=list)
    changed_at: dt.datetime
