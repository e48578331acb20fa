"""One deposit seen twice: a line of the bank's statement and a payment an operator recorded by hand (the debtor
sent the slip) of the same amount to the same account, the line posted from the day the deposit was made to a few
days later (domain/bank_files.POSTED_WITHIN_DAYS); or a line without the bank's id and a line of the same amount and
day that another file brought (the statement saved again). Asked whenever one of them is about to be applied to an
account: as it arrives (bank_files/handlers, handlers._refuse_if_banked) and as it leaves suspense (a placement
re-matching it, an operator assigning it), so that no way into the ledger applies the deposit twice."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from payments.bank_files import store
from payments.domain.bank_files import (
    ALREADY_BANKED,
    IN_EARLIER_FILE,
    POSSIBLE_DUPLICATE,
    posted_between,
    recorded_by_hand_between,
)
from payments.records import Payment
from recaudo_common.clock import local_instant, local_today

SOURCES = ("bank_file", "manual")  # the payments that may be one deposit seen twice


@dataclass(frozen=True)
class MaybeSame:
    """The applied payment another may be the same deposit as, and the suspense reason that says which way round."""

    # POSSIBLE_DUPLICATE: a bank line that may be a payment by hand; ALREADY_BANKED: the other way; IN_EARLIER_FILE:
    # a bank line without the bank's id that may be a line another file brought
    reason: str
    same_as: uuid.UUID

    def explained(self, payment: Payment, account_ref: str) -> str:
        """Why it was not applied, in the words of a 409 to an operator who can say it is another deposit."""
        if self.reason == IN_EARLIER_FILE:
            return (f"a line of {payment.amount} to {account_ref} on the same day was applied from another bank file "
                    f"(payment {self.same_as}): if this is another deposit, send it again with another_deposit true")
        if self.reason == POSSIBLE_DUPLICATE:
            return (f"a payment of {payment.amount} recorded by hand to {account_ref} in the days before this line "
                    f"may be the same deposit (payment {self.same_as}): if this is another deposit, send it again "
                    "with another_deposit true")
        return (f"a bank statement already brought {payment.amount} to {account_ref} in the days after this payment "
                f"was made (payment {self.same_as}): if this is another deposit, send it again with another_deposit "
                "true")


async def same_deposit_applied(s: AsyncSession, timezone: str, payment: Payment,
                               account_ref: str) -> MaybeSame | None:
    """The applied payment that `payment`, leaving suspense for `account_ref`, may be the same deposit as (None:
    none, or it is no bank line or payment by hand, or an operator said it was another deposit). The one it was
    held as maybe the same as counts: holding it was a question, not its answer. The caller holds the account."""
    if payment.another_deposit:
        return None
    made_or_posted = local_today(timezone, payment.paid_at)
    if payment.source == "bank_file":
        by_hand = await store.unanswered_manual_payment(
            s, payment.client_slug, account_ref, payment.amount,
            *recorded_by_hand_between(made_or_posted, timezone), asking=payment.id)
        if by_hand is not None:
            return MaybeSame(POSSIBLE_DUPLICATE, by_hand)
        if (file_key := await store.file_key_of(s, payment.id)) is None:
            return None
        seen = await store.line_of_another_file(
            s, payment.client_slug, account_ref, payment.amount, local_instant(made_or_posted, timezone),
            local_instant(made_or_posted + dt.timedelta(days=1), timezone), file_key=file_key)
        return None if seen is None else MaybeSame(IN_EARLIER_FILE, seen)
    if payment.source == "manual":
        line = await store.applied_bank_line(s, payment.client_slug, account_ref, payment.amount,
                                             *posted_between(made_or_posted, timezone), asking=payment.id)
        return None if line is None else MaybeSame(ALREADY_BANKED, line)
    return None
