"""A client company's file that restates an account payments has closed (payment.adjusted: the ledger's word after
the stated balance's change, MISSION §4 and §7): a paid debtor the ledger says owes again is contacted again; a
settled one is never contacted, whatever treatment arrives."""

import uuid
from decimal import Decimal

import pytest

from recaudo_common.events import PaymentAdjusted, PaymentApplied

from .conftest import Outreach, segmented

pytestmark = pytest.mark.integration


def paid(outreach: Outreach, ref: str, *, amount: str, left: str, status: str) -> PaymentApplied:
    return PaymentApplied(payment_id=uuid.uuid4(), account_ref=ref, amount=Decimal(amount), currency="COP",
                          paid_at=outreach.clock.now, source="gateway", new_balance=Decimal(left),
                          account_status=status)  # type: ignore[arg-type]


def adjusted(outreach: Outreach, ref: str, *, amount: str, left: str, status: str) -> PaymentAdjusted:
    return PaymentAdjusted(account_ref=ref, amount=Decimal(amount), currency="COP", adjusted_at=outreach.clock.now,
                           new_balance=Decimal(left), account_status=status)  # type: ignore[arg-type]


async def test_a_paid_debtor_owed_again_is_contacted_and_a_settled_one_never(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("Q-1"), segmented("Q-1"),
                           await outreach.placed("Q-2", debtor="78"), segmented("Q-2"))
    await outreach.deliver(paid(outreach, "Q-1", amount="1500000", left="0", status="paid"),
                           paid(outreach, "Q-2", amount="1000000", left="500000", status="settled"))
    assert {s for _, s in await outreach.attempts("Q-1")} == {"cancelled"}
    assert {s for _, s in await outreach.attempts("Q-2")} == {"cancelled"}
    # The client's next file restates both; the ledger says Q-1 owes 20,000 again and Q-2 stays settled.
    await outreach.deliver(adjusted(outreach, "Q-1", amount="20000", left="20000", status="open"),
                           adjusted(outreach, "Q-2", amount="30000", left="530000", status="settled"))
    await outreach.deliver(segmented("Q-1", ("sms",), cadence_days=7), segmented("Q-2", ("sms",), cadence_days=7))
    assert "scheduled" in {s for _, s in await outreach.attempts("Q-1")}
    assert {s for _, s in await outreach.attempts("Q-2")} == {"cancelled"}
