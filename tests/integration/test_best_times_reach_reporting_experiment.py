"""Best time as an experiment across services on real PostgreSQL (the embedded event log): a client company turns
the experiment on in outreach, its accounts' first SMS go out (the sandbox's), each in its account's arm, and
reporting's read-out counts every account in the arm outreach planned it in, with the payments planted on them
(first_slot accounts paying about half as often): outreach's and reporting's real consumers, relays and scheduler."""

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

import outreach.main
import reporting.main
from outreach.settings import OutreachSettings
from recaudo_common.events import ClientRegistered, PaymentApplied
from recaudo_common.runtime import Platform
from recaudo_common.testing import eventually
from recaudo_common.testing_units import platform_at, served_together
from reporting.settings import ReportingSettings

# Named to be collected after its sibling: in a whole run `tests` is a service's package, and this import finds
# the sibling only among the modules pytest has already imported (as test_deploy's importers do).
from tests.integration.test_best_times_reach_reporting import NOW, placed, published_upstream, segmented, sql

pytestmark = pytest.mark.integration
ACCOUNTS = 40


@pytest.fixture
async def platform(database_url: str) -> AsyncIterator[Platform]:
    async with platform_at(database_url, NOW) as platform:
        yield platform


async def test_reportings_arms_are_outreachs_and_show_the_planted_lift(platform: Platform) -> None:
    units = [outreach.main.build(platform, OutreachSettings(sandbox_delivery_rate=1.0)),
             reporting.main.build(platform, ReportingSettings(database_url=platform.settings.database_url,
                                                              environment="test"))]
    refs = [f"E-{i:02d}" for i in range(ACCOUNTS)]
    async with served_together(platform, units, now=NOW) as http:
        await published_upstream(platform, [ClientRegistered(
            slug="banco", name="Banco Andino", country="CO", currency="COP", timezone="America/Bogota",
            locale="es-CO", default_authorised_channels=["sms"])])

        async def client_known() -> bool:
            answer = await http.put("/v1/clients/banco/best-times/settings",
                                    json={"enabled": True, "experiment": True})
            return answer.status_code == 200
        await eventually(client_known, timeout_s=60, message="outreach knows the client company")
        accounts = []
        for i, ref in enumerate(refs):
            accounts += [await placed(platform, ref, f"70000000{i:02d}"), segmented(ref)]
        await published_upstream(platform, accounts)

        async def all_sent() -> list[Any] | None:
            rows = await sql(platform, "SELECT account_ref, best_time_arm FROM outreach.attempts "
                                       "WHERE sent_at IS NOT NULL AND account_ref LIKE 'E-%'")
            return rows if len({r[0] for r in rows}) == ACCOUNTS else None
        sent = await eventually(all_sent, timeout_s=90, message="every account's first SMS sent")
        assert sent is not None
        arm_of = {ref: arm for ref, arm in sent}
        arms = Counter(arm_of.values())
        assert set(arms) == {"best_time", "first_slot"}

        # Payments: every other best_time account pays, every fourth first_slot account.
        payers = [ref for n, ref in enumerate(r for r in refs if arm_of[r] == "best_time") if n % 2 == 0] + \
            [ref for n, ref in enumerate(r for r in refs if arm_of[r] == "first_slot") if n % 4 == 0]
        await published_upstream(platform, [PaymentApplied(
            payment_id=uuid.uuid4(), account_ref=ref, amount=Decimal("150000"), currency="COP", paid_at=NOW,
            source="gateway", new_balance=Decimal("1350000"), account_status="open") for ref in payers])
        paying = Counter(arm_of[ref] for ref in payers)

        async def read_out() -> dict[str, Any] | None:
            body: dict[str, Any] = (await http.get("/v1/clients/banco/best-time/experiment")).json()
            figures = {a: (v["accounts"], v["paying_accounts"]) for a, v in body.get("arms", {}).items()}
            wanted = {a: (arms[a], paying[a]) for a in ("best_time", "first_slot")}
            return body if figures == wanted else None
        body = await eventually(read_out, timeout_s=90, message="reporting's arms are outreach's")
        assert body is not None
        rate = {a: paying[a] / arms[a] for a in arms}
        assert body["lift"] == pytest.approx(rate["best_time"] / rate["first_slot"] - 1)
        assert body["p_value"] is not None and body["verdict"] == "insufficient_data"  # 40 accounts, not 800
        # The sandbox's messages are simulated: an arm's account counts, its attempt is no contact.
        assert {a: v["attempts"] for a, v in body["arms"].items()} == {"best_time": 0, "first_slot": 0}
