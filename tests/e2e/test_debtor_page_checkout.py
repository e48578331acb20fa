"""The debtor pays for real through the whole platform (#21): a client company's Wompi account makes the debtor
page offer "Pagar en línea"; the verified debtor's "Pagar" is a 303 to payments' /checkout/{ticket}, which sends the
browser to Wompi's Web Checkout with the platform's reference; Wompi's signed notification of that reference
lowers the balance the client company sees, once whatever the redelivery, and outreach queues one confirmation to
the debtor."""

import hashlib
import json
import re
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from recaudo_common.testing import RunningPlatform, eventually

pytestmark = pytest.mark.e2e
BANCO = {"slug": "banco-andino", "name": "Banco Andino S.A.", "country": "CO", "currency": "COP",
         "timezone": "America/Bogota", "locale": "es-CO"}
CSV = "Número Obligación;Cédula;Nombre Completo;Celular;Saldo Total;Días Mora\n" \
      "B-001;1020304050;Ana Gómez;300 123 4567;2.500.000;45\n"
WOMPI = {"kind": "wompi", "events_secret": "test_events_e2e-s3cr3t", "integrity_secret": "test_integrity_e2e",
         "public_key": "pub_test_E2eDebtorPageCheckout0000000"}
HTML = {"Accept": "text/html"}
SIGNED = ("transaction.id", "transaction.status", "transaction.amount_in_cents", "transaction.reference",
          "transaction.currency")


def wompi_event(transaction: dict[str, Any]) -> bytes:
    """transaction.updated as Wompi sends it, its checksum by the documented algorithm (SHA-256 of the signed
    properties' values, the timestamp and the events secret: https://docs.wompi.co/docs/colombia/eventos/)."""
    timestamp = 1774969200
    values = "".join(str(transaction[p.split(".")[1]]) for p in SIGNED)
    checksum = hashlib.sha256(f"{values}{timestamp}{WOMPI['events_secret']}".encode()).hexdigest()
    return json.dumps({"event": "transaction.updated", "data": {"transaction": transaction}, "environment": "test",
                       "timestamp": timestamp, "sent_at": "2026-03-31T15:00:00.000Z",
                       "signature": {"properties": list(SIGNED), "checksum": checksum}}).encode()


async def test_the_debtor_page_pays_at_the_client_companys_wompi_and_is_confirmed(platform: RunningPlatform) -> None:
    async with platform.client() as operator, httpx.AsyncClient(base_url=platform.base_url, timeout=30) as browser:
        assert (await operator.post("/v1/clients", json=BANCO)).status_code == 201
        upload = await operator.post("/v1/clients/banco-andino/portfolios",
                                     files={"file": ("cartera.csv", CSV.encode(), "text/csv")})
        assert upload.status_code == 202, upload.text

        async def gateway_put() -> str | None:  # once payments has the client company (client.registered)
            answer = await operator.put("/v1/clients/banco-andino/gateways/wompi", json=WOMPI)
            if answer.status_code == 404:
                return None
            assert answer.status_code in (200, 201), answer.text
            return str(answer.json()["webhook_url"])

        hook = urlsplit(await eventually(gateway_put, timeout_s=90, message="payments knows the client")).path

        async def link() -> str | None:
            answer = await operator.post("/v1/clients/banco-andino/accounts/B-001/payment-link")
            return str(answer.json()["url"]) if answer.status_code == 201 else None

        path = urlsplit(await eventually(link, timeout_s=90, message="outreach knows the account")).path

        async def page_offers_wompi() -> str | None:
            page = await browser.post(path, data={"digits": "304050"}, headers=HTML)
            assert page.status_code == 200, page.text
            return page.text if "Pagar en línea" in page.text else None

        page = await eventually(page_offers_wompi, timeout_s=60, message="the page offers the client's gateway")
        assert "Pagar otro valor" not in page  # no sandbox beside a real gateway
        form = {name: re.search(rf'name="{name}" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
                for name in ("proof", "nonce")}
        paid = await browser.post(f"{path}/pay", headers=HTML, data={**form, "method": "online", "amount": "100000"})
        assert paid.status_code == 303 and paid.headers["location"].startswith("/checkout/"), paid.text

        at_gateway = await browser.get(paid.headers["location"], headers=HTML)
        assert at_gateway.status_code == 303, at_gateway.text
        url = urlsplit(at_gateway.headers["location"])
        assert f"{url.scheme}://{url.netloc}{url.path}" == "https://checkout.wompi.co/p/"
        fields = parse_qs(url.query)
        reference = fields["reference"][0]
        assert fields["amount-in-cents"] == ["10000000"] and fields["public-key"] == [WOMPI["public_key"]]

        event = wompi_event({"id": "1234-1774969170-90001", "amount_in_cents": 10000000, "reference": reference,
                             "currency": "COP", "status": "APPROVED", "payment_method_type": "PSE"})
        answers = [await browser.post(hook, content=event, headers={"Content-Type": "application/json"})
                   for _ in range(2)]
        assert [a.status_code for a in answers] == [200, 200], answers[0].text

        async def balance_lowered() -> bool:
            view = await operator.get("/v1/clients/banco-andino/accounts/B-001")
            return view.status_code == 200 and Decimal(view.json()["balance"]) == Decimal("2400000")

        await eventually(balance_lowered, timeout_s=90, message="the payment reached the client's account view")

        async def confirmation_queued() -> list[dict[str, Any]] | None:
            trail = (await operator.get("/v1/clients/banco-andino/accounts/B-001/contacts")).json()["trail"]
            queued = [t for t in trail if t["kind"] == "scheduled" and t["detail"].get("confirmation")]
            return queued or None

        queued = await eventually(confirmation_queued, timeout_s=60, message="outreach queued the confirmation")
        assert [(t["detail"]["confirmation"], t["detail"]["reference"]) for t in queued] == [("approved", reference)]
        outcome = await browser.get(f"/checkout/{reference}", headers=HTML)
        assert outcome.status_code == 200 and "Pago aprobado" in outcome.text
        view = await operator.get("/v1/clients/banco-andino/accounts/B-001")
        assert Decimal(view.json()["balance"]) == Decimal("2400000")  # the redelivery applied nothing more
