"""The checkout ticket outreach signs and payments reads: round trip, forgery, expiry and kind separation."""

import datetime as dt
from decimal import Decimal

import pytest

from recaudo_common.checkout_tickets import CheckoutTicket, make_ticket, read_ticket
from recaudo_common.payment_links import make_token, read_token

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 12, 3, 15, 0, tzinfo=dt.UTC)
SECRET = "s" * 40
TICKET = CheckoutTicket(client="banco-andino", account_ref="A-1", link_token="tok", amount=Decimal("150000.50"),
                        currency="COP", method="online", nonce="n1", expires_at=NOW + dt.timedelta(minutes=30))


def test_a_ticket_reads_back_what_was_signed() -> None:
    assert read_ticket(make_ticket(TICKET, SECRET), secret=SECRET, now=NOW) == TICKET


def test_a_forged_altered_or_expired_ticket_reads_as_nothing() -> None:
    token = make_ticket(TICKET, SECRET)
    body, signature = token.split(".")
    assert read_ticket(token, secret="t" * 40, now=NOW) is None
    assert read_ticket(f"{body}x.{signature}", secret=SECRET, now=NOW) is None
    assert read_ticket(token, secret=SECRET, now=TICKET.expires_at) is None
    assert read_ticket("x" * 5000, secret=SECRET, now=NOW) is None


def test_a_zero_or_negative_amount_is_no_ticket() -> None:
    for amount in ("0", "-5", "NaN"):
        bad = CheckoutTicket(**{**TICKET.__dict__, "amount": Decimal(amount)})
        assert read_ticket(make_ticket(bad, SECRET), secret=SECRET, now=NOW) is None


def test_a_payment_link_never_passes_for_a_ticket_nor_the_reverse() -> None:
    link = make_token(client="banco-andino", account_ref="A-1", expires_at=NOW + dt.timedelta(days=1), secret=SECRET)
    assert read_ticket(link, secret=SECRET, now=NOW) is None
    assert read_token(make_ticket(TICKET, SECRET), secret=SECRET, now=NOW) is None
