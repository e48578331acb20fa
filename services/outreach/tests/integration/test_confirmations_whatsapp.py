"""A payment confirmation (#21) on WhatsApp through Meta's Cloud API, on the real sending path against the local
fake of the Graph API: as plain text inside the 24-hour window the debtor's message opened; outside it nothing is
posted (the client company's approved template is its collection message, not a receipt) and the attempt fails
with the reason."""

import datetime as dt
from decimal import Decimal

import pytest

from recaudo_common.events import CheckoutUpdated

from .test_whatsapp_outbound import Setup, cloud, debtor_writes  # noqa: F401  (cloud: the fixture)

pytestmark = pytest.mark.integration


def approved(reference: str, status: str, at: dt.datetime) -> CheckoutUpdated:
    return CheckoutUpdated(reference=reference, account_ref="W-9", gateway="wompi", method="online",
                           status=status, amount=Decimal("100000"), currency="COP",
                           changed_at=at)


async def test_a_confirmation_goes_as_text_inside_the_window_only(cloud: Setup) -> None:  # noqa: F811
    c = cloud
    await c.o.deliver(await c.o.placed("W-9", channels=("whatsapp",)))
    await debtor_writes(c)  # the window opens
    await c.o.deliver(approved("RC-W1", "approved", c.o.clock.now))
    assert await c.o.tick() == 1
    [posted] = c.graph.posted
    [(attempt_id,)] = await c.o.sql("SELECT id FROM outreach.attempts WHERE account_ref = 'W-9'")
    assert posted.body == {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "573001234567",
                           "biz_opaque_callback_data": str(attempt_id), "type": "text", "text": posted.body["text"]}
    assert posted.body["text"]["body"] == ("Recibimos su pago de $100.000,00 para su obligación con Banco Andino. "
                                           "¡Gracias! Responda BAJA para no recibir más mensajes.")

    c.o.clock.now += dt.timedelta(hours=25)  # the window closed
    await c.o.deliver(approved("RC-W2", "declined", c.o.clock.now))
    await c.o.tick()
    assert len(c.graph.posted) == 1
    [(status, failure)] = await c.o.sql("SELECT status, failure FROM outreach.attempts "
                                        "WHERE confirmation->>'reference' = 'RC-W2'")
    assert status == "failed" and failure.startswith("whatsapp_template_missing"), failure
