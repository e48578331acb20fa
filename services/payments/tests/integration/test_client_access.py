"""Who reaches a client company's payments through the one dependency (recaudo_common.dependencies.client_of), and
the gateway's notification that needs no key: its signature, checked with the secrets main.build was given."""

from decimal import Decimal

import pytest

from .conftest import NOW, Gateway, payment

pytestmark = pytest.mark.integration
MANUAL = {"account_ref": "A-1", "amount": "10000.00", "paid_at": NOW.isoformat()}


async def test_the_client_company_and_the_callers_right_to_it(gateway: Gateway) -> None:
    platform, http = gateway.platform, gateway.http
    _, own = await platform.keys.create(role="client", client_slug="banco", now=NOW)
    _, other = await platform.keys.create(role="client", client_slug="telco", now=NOW)
    _, scoped = await platform.keys.create(role="operator", client_scope=["telco"], now=NOW)

    def as_(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    assert (await http.get("/v1/clients/banco/payments/unmatched", headers=as_(own))).status_code == 200
    for key in (other, scoped):  # as if banco did not exist
        refused = await http.get("/v1/clients/banco/payments/unmatched", headers=as_(key))
        assert (refused.status_code, refused.json()["code"]) == (404, "not_found")
        assert "banco" in refused.json()["detail"]
    unknown = await http.post("/v1/clients/nadie/payments", json=MANUAL,
                              headers={**gateway.as_operator(), "Idempotency-Key": "unknown-company-1"})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    assert "nadie" in unknown.json()["detail"]

    paid = await http.post("/v1/clients/banco/payments", json=MANUAL,
                           headers={**as_(own), "Idempotency-Key": "client-key-pays-1"})
    assert (paid.status_code, paid.json()["code"]) == (403, "forbidden")
    assert (await gateway.balance("A-1"))[0] == Decimal("100000.00")  # nothing applied
    assert (await http.get("/v1/clients/banco/payments/unmatched")).status_code == 401


async def test_a_gateway_notification_needs_no_key_but_a_secret_the_service_was_built_with(gateway: Gateway) -> None:
    # "old" and "new" exist only in the fixture's PaymentsSettings: the route read them through its dependency.
    for pid, secret in (("pay-old-secret", "old"), ("pay-new-secret", "new")):
        answer = await gateway.send(payment(pid, amount="1000.00"), secret=secret)
        assert answer.json() == {"status": "applied", "payment_id": pid}
    forged = await gateway.send(payment("pay-forged", amount="1000.00"), secret="guessed")
    assert (forged.status_code, forged.json()["code"]) == (401, "bad_signature")
    assert (await gateway.balance("A-1"))[0] == Decimal("98000.00")
