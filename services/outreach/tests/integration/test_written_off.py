"""A written-off account is no longer contacted (#22): payment.written_off cancels the attempts not sent yet and
the trail says why; a partial write-off, which leaves something to pay, changes nothing here."""

import uuid
from decimal import Decimal

import pytest

from recaudo_common.events import PaymentWriteOffReversed, PaymentWrittenOff

from .conftest import Outreach, segmented

pytestmark = pytest.mark.integration


def written_off(outreach: Outreach, ref: str, *, amount: str, left: str, status: str) -> PaymentWrittenOff:
    return PaymentWrittenOff(write_off_id=uuid.uuid4(), account_ref=ref, amount=Decimal(amount), currency="COP",
                             reason="uneconomic", source="operator", written_off_at=outreach.clock.now,
                             new_balance=Decimal(left), written_off_total=Decimal(amount),
                             account_status=status)  # type: ignore[arg-type]


async def test_a_written_off_account_is_no_longer_contacted(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("W-1"), segmented("W-1", ("sms", "email")),
                           await outreach.placed("W-2", debtor="78"), segmented("W-2"))
    await outreach.deliver(written_off(outreach, "W-1", amount="1500000", left="0", status="written_off"),
                           written_off(outreach, "W-2", amount="1000", left="1499000", status="open"))
    assert {s for _, s in await outreach.attempts("W-1")} == {"cancelled"}
    assert {s for _, s in await outreach.attempts("W-2")} == {"scheduled"}  # something is still to pay
    assert await outreach.tick() == 1  # W-2's first message only
    history = (await outreach.http.get("/v1/clients/banco/accounts/W-1/contacts", headers=outreach.auth)).json()
    assert {t["detail"]["reason"] for t in history["trail"] if t["kind"] == "cancelled"} == {"account written_off"}
    # A segmentation decision arriving later plans nothing for it.
    await outreach.deliver(segmented("W-1", ("sms",), cadence_days=5))
    assert {s for _, s in await outreach.attempts("W-1")} == {"cancelled"}
    # Its write-off reversed, the account is open again: the next treatment is planned.
    await outreach.deliver(PaymentWriteOffReversed(account_ref="W-1", amount=Decimal("1500000"),
                                                   reversed_at=outreach.clock.now, new_balance=Decimal("1500000"),
                                                   account_status="open"),
                           segmented("W-1", ("sms",), cadence_days=7))
    assert "scheduled" in {s for _, s in await outreach.attempts("W-1")}
