"""The contact law as the agency's paths feed it, through the real API and PostgreSQL: where the debtor may be
(every phone on file)."""


import pytest

from .conftest import Outreach, client_event

pytestmark = pytest.mark.integration


async def check(o: Outreach, client: str, ref: str, channel: str, at: str) -> dict[str, object]:
    answer = await o.http.post("/v1/compliance/check", headers=o.auth, json={
        "client": client, "account_ref": ref, "channel": channel, "at": at})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def us_client(o: Outreach) -> None:
    await o.deliver(client_event("acme", country="US", timezone="America/New_York", locale="en-US",
                                 currency="USD"), client="acme")


async def test_a_debtor_with_phones_in_two_us_zones_is_called_only_at_an_hour_convenient_in_both(
        outreach: Outreach) -> None:
    # Regulation F (comment 6(b)(1)(i)-1): with conflicting information on where the consumer is, a call must be
    # convenient at every location the collector's information indicates. A New York (212) and a Los Angeles (310)
    # number: 08:30 in New York is 05:30 in Los Angeles.
    await us_client(outreach)
    await outreach.deliver(await outreach.placed("US-2", client="acme", phones=("+12125551234", "+13105551234"),
                                                 channels=("voice", "sms")), client="acme")
    early = await check(outreach, "acme", "US-2", "voice", "2026-03-04T08:30:00-05:00")
    assert (early["allowed"], early["reasons"]) == (False, ["outside_hours"])
    assert early["next_allowed_at"] == "2026-03-04T16:00:00Z"  # 11:00 in New York, 08:00 in Los Angeles
    assert (await check(outreach, "acme", "US-2", "voice", "2026-03-04T11:00:00-05:00"))["allowed"] is True
