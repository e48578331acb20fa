"""What outreach tells a debtor about their days past due is today's, on the client company's calendar: segmentation
says them when it assigns (account.segmented v2: for which day, and whether they stand still from it) and its daily
aging says nothing more until the bucket changes, so a message sent 20 days after an assignment at 35 days said 35.
Held (a plan), closed, or said by an older event: as said."""

import dataclasses
import datetime as dt

import pytest

from outreach.messages import Renderer
from outreach.store import contact_context
from recaudo_common.events import AccountSegmentedV2

from .conftest import WEDNESDAY_10, Outreach, client_event, segmented

pytestmark = pytest.mark.integration


def at_35(ref: str, *, held: bool | None = False, as_of: dt.date | None = None) -> AccountSegmentedV2:
    """Segmented at 35 days past due on the test clock's day in Bogotá."""
    said = segmented(ref).model_dump() | {"days_past_due": 35}
    return AccountSegmentedV2(**said, bucket_low=31, bucket_high=60, aging_held=held,
                              as_of=as_of or WEDNESDAY_10.astimezone(dt.timezone(dt.timedelta(hours=-5))).date())


async def test_a_message_says_the_days_past_due_of_the_day_it_is_made(outreach: Outreach) -> None:
    await outreach.deliver(client_event(), *[await outreach.placed(ref, debtor=f"10{i}")
                                             for i, ref in enumerate(("A-1", "A-2", "A-3"))])
    await outreach.deliver(at_35("A-1"), at_35("A-2", held=True), segmented("A-3"))  # v1, 45 as said
    later = WEDNESDAY_10 + dt.timedelta(days=20)
    async with outreach.platform.db.transaction() as s:
        found = {ref: await contact_context(s, "banco", ref, later) for ref in ("A-1", "A-2", "A-3")}
        renderer = Renderer(s, outreach.settings, later)
        facts = renderer.facts(found["A-1"])  # type: ignore[arg-type]
    assert {ref: d.days_past_due_at(later) for ref, d in found.items() if d} == {"A-1": 55, "A-2": 35, "A-3": 45}
    assert facts["days_past_due"] == 55
    # Paid since: they stand still at what was said.
    assert found["A-1"] is not None
    assert dataclasses.replace(found["A-1"], account_status="paid").days_past_due_at(later) == 35
