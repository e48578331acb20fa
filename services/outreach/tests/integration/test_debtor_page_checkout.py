"""The debtor pays for real (#21), outreach's side, through its real HTTP app, PostgreSQL and the consumer: the
client company's ways to pay (payment.methods_available) decide the page's pay buttons; "Pagar" answers 303 to
payments' /checkout/{ticket} with a signed ticket for this account, amount and method; the sandbox stays where a
client has no gateway, and neither is refused in Spanish; payment.checkout_updated becomes one confirmation
message to the debtor, through the send path (the contact law, opt-outs), whatever the redelivery."""

import datetime as dt
import re
import uuid
from decimal import Decimal

import pytest

from outreach.debtor_page.checkout import methods_of
from recaudo_common.checkout_tickets import TICKET_TTL, read_ticket
from recaudo_common.events import CashVoucher, CheckoutUpdated, PaymentApplied, PaymentMethodsAvailable
from recaudo_common.money import format_amount

from .conftest import Outreach, make_outreach, segmented

pytestmark = pytest.mark.integration
HTML = {"Accept": "text/html"}


async def verified(o: Outreach, ref: str) -> tuple[str, str]:
    answer = await o.http.post(f"/v1/clients/banco/accounts/{ref}/payment-link", headers=o.auth)
    assert answer.status_code == 201, answer.text
    path = str(answer.json()["url"]).removeprefix(o.settings.public_url)
    page = await o.http.post(path, data={"digits": "304050"}, headers=HTML)
    assert page.status_code == 200, page.text
    return path, page.text


def field(page: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def methods(online: bool, *cash: str, at: dt.datetime) -> PaymentMethodsAvailable:
    return PaymentMethodsAvailable(online=online, cash_networks=list(cash), changed_at=at)


async def test_the_client_companys_methods_decide_the_pay_buttons(outreach: Outreach) -> None:
    o, now = outreach, outreach.clock.now
    await o.deliver(await o.placed("K-1"), segmented("K-1"))
    _, page = await verified(o, "K-1")
    assert "Pagar otro valor" in page and "Pagar en línea" not in page  # no gateway: the sandbox (development)

    await o.deliver(methods(True, "efecty", "baloto", at=now))
    await o.deliver(methods(True, "efecty", "baloto", at=now))  # a redelivery: the same row
    await o.deliver(methods(False, at=now - dt.timedelta(hours=1)))  # older, arriving late: changes nothing
    async with o.platform.db.transaction() as s:
        assert (await methods_of(s, "banco")).cash_networks == ("efecty", "baloto")
    assert await o.sql("SELECT count(*) FROM outreach.payment_methods") == [(1,)]
    _, page = await verified(o, "K-1")
    assert "Pagar en línea" in page and "Pagar en efectivo (Efecty y Baloto)" in page
    assert "Pagar otro valor" not in page and "Pagar el total" not in page  # the sandbox never beside a gateway
    assert 'name="method" value="online"' in page and 'name="method" value="cash"' in page

    await o.deliver(methods(True, at=now + dt.timedelta(minutes=1)))  # cash turned off
    _, page = await verified(o, "K-1")
    assert "Pagar en línea" in page and "Pagar en efectivo" not in page


async def test_pay_hands_payments_a_signed_ticket_in_a_303(outreach: Outreach) -> None:
    o, now = outreach, outreach.clock.now
    await o.deliver(await o.placed("K-2"), segmented("K-2"), methods(True, "efecty", at=now))
    path, page = await verified(o, "K-2")
    proof, nonce = field(page, "proof"), field(page, "nonce")
    token = path.removeprefix("/pay/")

    online = await o.http.post(f"{path}/pay", headers=HTML, data={
        "proof": proof, "nonce": nonce, "method": "online", "amount": "250000,50"})
    assert online.status_code == 303, online.text
    location = online.headers["location"]
    assert location.startswith("/checkout/")  # relative: the same public host, where payments serves it
    ticket = read_ticket(location.removeprefix("/checkout/"), secret=o.settings.link_secret, now=now)
    assert ticket is not None
    assert (ticket.client, ticket.account_ref, ticket.link_token, ticket.amount, ticket.currency, ticket.method,
            ticket.nonce) == ("banco", "K-2", token, Decimal("250000.50"), "COP", "online", nonce)
    assert ticket.expires_at == (now + TICKET_TTL).replace(microsecond=0)
    assert read_ticket(location.removeprefix("/checkout/"), secret="another-secret" * 3, now=now) is None

    cash = await o.http.post(f"{path}/pay", data={"proof": proof, "nonce": nonce, "method": "cash",
                                                  "amount": "1500000"})
    assert cash.status_code == 303
    cash_ticket = read_ticket(cash.headers["location"].removeprefix("/checkout/"), secret=o.settings.link_secret,
                              now=now)
    assert cash_ticket is not None and (cash_ticket.method, cash_ticket.amount) == ("cash", Decimal("1500000"))

    trail = (await o.http.get("/v1/clients/banco/accounts/K-2/contacts", headers=o.auth)).json()["trail"]
    assert [t["detail"]["method"] for t in trail if t["kind"] == "page_checkout"] == ["online", "cash"]


async def test_pay_refuses_in_spanish_what_it_cannot_hand_over(outreach: Outreach) -> None:
    o, now = outreach, outreach.clock.now
    await o.deliver(await o.placed("K-3"), segmented("K-3"), methods(True, at=now))
    path, page = await verified(o, "K-3")
    proof = field(page, "proof")
    refusals = {
        "abc": "escriba un valor como 150000.50",
        "100.005": "hasta dos decimales",
        "0": "no mayor al saldo",
        "1500000.01": "no mayor al saldo",  # more than is owed: an overpayment would only be refunded
    }
    for amount, reason in refusals.items():
        refused = await o.http.post(f"{path}/pay", headers=HTML, data={"proof": proof, "method": "online",
                                                                       "amount": amount})
        assert refused.status_code == 422 and reason in refused.text, (amount, refused.text)
    no_cash = await o.http.post(f"{path}/pay", data={"proof": proof, "method": "cash", "amount": "1000"})
    assert no_cash.status_code == 422 and no_cash.json()["code"] == "method_not_available"
    assert "no está disponible" in no_cash.json()["detail"]
    unverified = await o.http.post(f"{path}/pay", data={"method": "online", "amount": "1000"})
    assert unverified.status_code == 401 and "location" not in unverified.headers
    assert not [r for r in await o.sql("SELECT kind FROM outreach.trail WHERE kind = 'page_checkout'")]


async def test_without_a_gateway_or_the_sandbox_paying_is_refused_in_spanish(database_url: str) -> None:
    o, http = await make_outreach(database_url, sandbox_gateway=False)
    try:
        await o.deliver(await o.placed("K-4"), segmented("K-4"))
        path, page = await verified(o, "K-4")
        assert "Pagar otro valor" not in page and "Pagar en línea" not in page
        refused = await o.http.post(f"{path}/pay", headers=HTML, data={"proof": field(page, "proof"),
                                                                       "amount": "1000"})
        assert refused.status_code == 503 and "El pago en línea no está disponible por ahora" in refused.text
        await o.deliver(methods(True, at=o.clock.now))  # the client company's gateway: production's way to pay
        path, page = await verified(o, "K-4")
        paid = await o.http.post(f"{path}/pay", data={"proof": field(page, "proof"), "amount": "1000"})
        assert paid.status_code == 303 and paid.headers["location"].startswith("/checkout/")
    finally:
        await http.aclose()
        await o.platform.db.dispose()


def checkout(ref: str, status: str, *, reference: str = "RC7Q2M4X9ZK3B6D8F0H2J4", amount: str = "100000",
             voucher: CashVoucher | None = None, at: dt.datetime) -> CheckoutUpdated:
    return CheckoutUpdated(reference=reference, account_ref=ref, gateway="wompi",
                           method="cash" if voucher else "online", status=status,
                           amount=Decimal(amount), currency="COP", voucher=voucher, changed_at=at)


def money(amount: str) -> str:
    """As a message writes it (SMS and WhatsApp on one line of plain spaces)."""
    return " ".join(format_amount(Decimal(amount), "COP", "es-CO").split())


async def sent_bodies(o: Outreach, ref: str) -> list[str]:
    rows = await o.sql("SELECT m.body FROM outreach.sandbox_messages m JOIN outreach.attempts a "
                       "ON a.id = m.attempt_id WHERE a.account_ref = :r ORDER BY m.sent_at", r=ref)
    return [r[0] for r in rows]


async def test_an_approved_checkout_is_confirmed_once_even_when_it_paid_the_account_off(outreach: Outreach) -> None:
    o, now = outreach, outreach.clock.now
    await o.deliver(await o.placed("C-1", channels=("sms", "email")), segmented("C-1", ("sms",)))
    o.settings.sandbox_delivery_rate = 1.0
    approved = checkout("C-1", "approved", amount="1500000", at=now)
    await o.deliver(approved)
    await o.deliver(approved)  # the same event again: the inbox skips it
    await o.deliver(checkout("C-1", "approved", amount="1500000", at=now))  # republished: another event id
    confirmations = await o.sql("SELECT channel, status, confirmation->>'kind' FROM outreach.attempts "
                                "WHERE account_ref = 'C-1' AND confirmation IS NOT NULL")
    assert confirmations == [("sms", "scheduled", "approved")]  # one, on the treatment's channel
    # The payment that paid the account off stops the collection, not the confirmation of that payment.
    await o.deliver(PaymentApplied(payment_id=uuid.uuid4(), account_ref="C-1",
                                   amount=Decimal("1500000"), currency="COP", paid_at=now, source="gateway",
                                   new_balance=Decimal("0"), account_status="paid"))
    assert await o.sql("SELECT count(*) FROM outreach.attempts WHERE account_ref = 'C-1' AND status = 'scheduled' "
                       "AND confirmation IS NULL") == [(0,)]
    await o.tick()
    [body] = await sent_bodies(o, "C-1")
    assert f"Recibimos su pago de {money('1500000')} para su obligación con Banco Andino. ¡Gracias!" in body, body
    assert "Responda BAJA" in body  # the opt-out line the law asks for in Colombia
    assert "María" not in body and "C-1" not in body  # nothing about the debtor beyond the other messages
    trail = (await o.http.get("/v1/clients/banco/accounts/C-1/contacts", headers=o.auth)).json()["trail"]
    scheduled = [t for t in trail if t["kind"] == "scheduled" and t["detail"].get("confirmation")]
    assert [t["detail"]["confirmation"] for t in scheduled] == ["approved"]
    await o.deliver(checkout("C-1", "approved", amount="1500000", at=now))
    await o.tick()
    assert len(await sent_bodies(o, "C-1")) == 1


async def test_declined_and_voucher_confirmations_and_the_law_over_them(outreach: Outreach) -> None:
    o, now = outreach, outreach.clock.now  # Wednesday 10:00 in Bogotá
    await o.deliver(await o.placed("C-2", channels=("sms",)))
    o.settings.sandbox_delivery_rate = 1.0
    await o.deliver(checkout("C-2", "created", reference="RC-A", at=now),
                    checkout("C-2", "pending", reference="RC-A", at=now))  # online, pending: nothing to say yet
    await o.deliver(checkout("C-2", "declined", reference="RC-A", at=now))
    await o.tick()
    [declined] = await sent_bodies(o, "C-2")
    assert f"Banco Andino: Su pago de {money('100000')} no fue aprobado. Puede intentarlo de nuevo en " \
           f"{o.settings.public_url}/pay/" in declined, declined

    # The law's one contact a day in Colombia: the voucher's message waits for Thursday morning, then goes.
    expires = dt.datetime(2026, 3, 7, 4, 59, tzinfo=dt.UTC)  # Friday 23:59 in Bogotá
    voucher = CashVoucher(network="efecty", reference="112233445", expires_at=expires)
    await o.deliver(checkout("C-2", "pending", reference="RC-B", voucher=voucher, at=now))
    await o.tick()
    assert len(await sent_bodies(o, "C-2")) == 1
    [(at,)] = await o.sql("SELECT scheduled_at FROM outreach.attempts WHERE confirmation->>'reference' = 'RC-B'")
    assert at == dt.datetime(2026, 3, 5, 12, 0, tzinfo=dt.UTC)  # Thursday 07:00 in Bogotá
    o.clock.now = at
    await o.tick()
    voucher_body = (await sent_bodies(o, "C-2"))[-1]
    assert ("Banco Andino: Su referencia de pago en Efecty es 112233445, válida hasta el 6 de marzo de 2026. "
            f"Valor a pagar: {money('100000')}.") in voucher_body, voucher_body


async def test_a_confirmation_respects_an_opt_out(outreach: Outreach) -> None:
    o, now = outreach, outreach.clock.now
    await o.deliver(await o.placed("C-3", channels=("sms", "email")))
    path, page = await verified(o, "C-3")
    for channel in ("sms", "email"):
        done = await o.http.post(f"{path}/opt-out", headers=HTML, data={"proof": field(page, "proof"),
                                                                        "channel": channel})
        assert done.status_code == 200
    await o.deliver(checkout("C-3", "approved", reference="RC-C", at=now))
    await o.tick()
    assert await sent_bodies(o, "C-3") == []
    [(status,)] = await o.sql("SELECT status FROM outreach.attempts WHERE confirmation IS NOT NULL "
                              "AND account_ref = 'C-3'")
    assert status == "cancelled"
    trail = (await o.http.get("/v1/clients/banco/accounts/C-3/contacts", headers=o.auth)).json()["trail"]
    assert any(t["kind"] == "cancelled" and "opted_out" in t["detail"].get("reasons", []) for t in trail)
