"""One deposit seen twice: a line of the bank's statement and a payment an operator recorded by hand (the debtor sent
the slip) of the same amount to the same account, the line posted from the day the deposit was made to a few days
later (domain/bank_files.POSTED_WITHIN_DAYS). Asked whenever one of them is about to be applied to an account:
as it arrives (bank_files/handlers, handlers._refuse_if_banked) and as it leaves suspense (a placement re-matching
it, an operator assigning it), so that no way into the ledger applies the deposit twice."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from payments.bank_files import store
from payments.domain.bank_files import (
    ALREADY_BANKED,
    POSSIBLE_DUPLICATE,
    posted_between,
    recorded_by_hand_between,
)
from payments.records import Payment
from recaudo_common.clock import local_today

SOURCES = ("bank_file", "manual")  # the payments that may be one deposit seen twice


@dataclass(frozen=True)
class MaybeSame:
    """The applied payment another may be the same deposit as, and the suspense reason that says which way round."""

    reason: str  # POSSIBLE_DUPLICATE: a bank line that may be a payment by hand; ALREADY_BANKED: the other way
    same_as: uuid.UUID

    def explained(self, payment: Payment, account_ref: str) -> str:
        """Why it was not applied, in the words of a 409 to an operator who can say it is another deposit."""
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
        return None if by_hand is None else MaybeSame(POSSIBLE_DUPLICATE, by_hand)
    if payment.source == "manual":
        line = await store.applied_bank_line(s, payment.client_slug, account_ref, payment.amount,
                                             *posted_between(made_or_posted, timezone), asking=payment.id)
        return None if line is None else MaybeSame(ALREADY_BANKED, line)
    return None
