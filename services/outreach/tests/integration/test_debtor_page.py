"""The debtor page through outreach's real HTTP app and PostgreSQL: a forged link is refused, the last six
digits of the ID come first (and too many wrong answers lock the link), then a promise and an arrangement request,
whose answer from payments joins the audit trail."""

import datetime as dt
import re
import uuid
from decimal import Decimal

import pytest

from recaudo_common.events import ArrangementDeclined, ArrangementMade, Instalment

from .conftest import Outreach, segmented

pytestmark = pytest.mark.integration
HTML = {"Accept": "text/html"}


async def link(o: Outreach, ref: str) -> str:
    answer = await o.http.post(f"/v1/clients/banco/accounts/{ref}/payment-link", headers=o.auth)
    assert answer.status_code == 201 and answer.headers["Location"] == answer.json()["url"]
    return str(answer.json()["url"]).removeprefix(o.settings.public_url)


def proof_of(page: str) -> str:
    return re.search(r'name="proof" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


async def test_the_page_asks_for_the_id_then_takes_a_promise_and_an_arrangement(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("P-1"), segmented("P-1", offer="settlement", discount="20"))
    path = await link(outreach, "P-1")
    forged = await outreach.http.get(path[:-3] + "xyz", headers=HTML)
    assert forged.status_code == 401 and "no es válido o ya venció" in forged.text
    assert (await outreach.http.get(path[:-3] + "xyz")).json()["code"] == "invalid_link"
    landing = await outreach.http.get(path, headers=HTML)
    assert landing.status_code == 200 and "últimos seis dígitos" in landing.text
    assert "1.500.000" not in landing.text  # nothing about the debt before the identity question
    wrong = await outreach.http.post(path, data={"digits": "111111"}, headers=HTML)
    assert wrong.status_code == 403 and "no coinciden" in wrong.text
    page = await outreach.http.post(path, data={"digits": "304050"}, headers=HTML)
    assert page.status_code == 200 and "Hola, María" in page.text and "1.500.000,00" in page.text
    assert "Oferta de pago con descuento" in page.text and "1.200.000,00" in page.text  # 20 % off
    no_proof = await outreach.http.post(f"{path}/promise", data={"amount": "1000", "due_date": "2026-03-10"},
                                        headers=HTML)
    assert no_proof.status_code == 401
    proof = proof_of(page.text)
    promised = await outreach.http.post(f"{path}/promise", headers=HTML, data={
        "proof": proof, "amount": "300000", "due_date": "2026-03-10"})
    assert promised.status_code == 200 and "Registramos su compromiso de pagar" in promised.text
    too_late = await outreach.http.post(f"{path}/promise", headers=HTML, data={
        "proof": proof, "amount": "300000", "due_date": "2026-06-10"})
    assert too_late.status_code == 422 and "próximos 30 días" in too_late.text
    accepted = await outreach.http.post(f"{path}/arrangement", headers=HTML, data={"proof": proof,
                                                                                   "offer": "settlement"})
    assert accepted.status_code == 200 and "Recibimos su aceptación" in accepted.text
    rows = await outreach.sql("SELECT envelope FROM outreach.outbox "
                              "WHERE envelope->>'type' NOT IN ('contact.consents_recorded', 'client.ready') ORDER BY id")
    kinds = [r[0]["type"] for r in rows]
    assert kinds == ["promise.made", "arrangement.requested"]
    assert rows[0][0]["payload"]["source"] == "debtor_page"
    request = rows[1][0]["payload"]
    assert (request["kind"], request["instalments"][0]["amount"]) == ("settlement", "1200000.00")

    # Payments answers (services/payments/tests/integration/test_arrangement_requests.py); the answer is audited.
    await outreach.deliver(ArrangementMade(
        arrangement_id=uuid.uuid4(), account_ref="P-1", kind="settlement", total_amount=Decimal("1200000.00"),
        instalments=[Instalment(due_date=dt.date(2026, 3, 14), amount=Decimal("1200000.00"))],
        made_at=outreach.clock.now, source="debtor_page", request_id=uuid.UUID(request["request_id"])))
    await outreach.deliver(ArrangementDeclined(request_id=uuid.uuid4(), account_ref="P-1",
                                               reason="the account already has an active arrangement",
                                               declined_at=outreach.clock.now))
    trail = (await outreach.http.get("/v1/clients/banco/accounts/P-1/contacts", headers=outreach.auth)).json()["trail"]
    assert [t["kind"] for t in trail][-2:] == ["arrangement_made", "arrangement_declined"]


async def test_too_many_wrong_answers_lock_the_link(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("P-2"), segmented("P-2"))
    path = await link(outreach, "P-2")
    for _ in range(3):  # three typos are free (tests/.../test_page_lockout.py: the rest of the lockout)
        assert (await outreach.http.post(path, data={"digits": "000000"}, headers=HTML)).status_code == 403
    locked = await outreach.http.post(path, data={"digits": "304050"}, headers=HTML)
    assert locked.status_code == 429 and "Demasiados intentos" in locked.text
    outreach.clock.now += dt.timedelta(minutes=1)
    assert (await outreach.http.post(path, data={"digits": "304050"}, headers=HTML)).status_code == 200


async def test_a_recalled_account_takes_no_promise_arrangement_or_payment_from_its_page(outreach: Outreach) -> None:
    from recaudo_common.events import AccountRecalled

    await outreach.deliver(await outreach.placed("P-9"), segmented("P-9", offer="settlement", discount="20"))
    path = await link(outreach, "P-9")
    page = await outreach.http.post(path, data={"digits": "304050"}, headers=HTML)
    proof = proof_of(page.text)
    # The client company takes the account back while the debtor's page is open in a tab.
    await outreach.deliver(AccountRecalled(account_ref="P-9", recalled_at=outreach.clock.now, reason="venta"))
    for action, form in (("promise", {"amount": "300000", "due_date": "2026-03-10"}),
                         ("arrangement", {"offer": "settlement"}), ("pay", {"amount": "300000", "nonce": "n-1"})):
        refused = await outreach.http.post(f"{path}/{action}", headers=HTML, data={"proof": proof, **form})
        assert refused.status_code == 409 and "no tiene saldo por cobrar" in refused.text, (action, refused.text)
    kinds = [r[0] for r in await outreach.sql(
        "SELECT envelope->>'type' FROM outreach.outbox WHERE envelope->>'key' = 'banco/P-9'")]
    assert "promise.made" not in kinds and "arrangement.requested" not in kinds
