"""Payment confirmations (#21), the pure part: which checkout states are told, on which of the debtor's channels,
and their texts (known variables only, the opt-out line where the law asks, the voucher's day in the debtor's
zone, a voucher past its expiry never sent)."""

import datetime as dt
import json
from decimal import Decimal

import pytest

from outreach.debtor_page.checkout import NONE, PaymentMethods, method_of, networks_text
from outreach.domain.confirmations import (
    VARIABLES,
    Confirmation,
    confirmation_channel,
    confirmation_kind,
    render_confirmation,
    used_variables,
)
from outreach.domain.templates import TemplateError
from recaudo_common.domain_errors import Invalid

pytestmark = pytest.mark.unit
NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)
LINK = "https://recaudo.example/pay/abc"


@pytest.mark.parametrize(("status", "voucher", "kind"), [
    ("approved", False, "approved"), ("declined", False, "declined"), ("pending", True, "voucher"),
    ("pending", False, None), ("created", False, None), ("expired", False, None), ("expired", True, None),
])
def test_which_states_the_debtor_is_told_of(status: str, voucher: bool, kind: str | None) -> None:
    assert confirmation_kind(status, voucher) == kind


@pytest.mark.parametrize("kind", ["approved", "declined", "voucher"])
@pytest.mark.parametrize("locale", ["es-CO", "en-US"])
def test_the_texts_use_only_known_variables_and_carry_the_opt_out_line(kind: str, locale: str) -> None:
    used = used_variables(kind, locale)  # type: ignore[arg-type]
    assert used <= set(VARIABLES) and "opt_out" in used
    assert not {"debtor_name", "account_ref", "balance"} & used  # nothing about the debtor


def test_each_text_in_spanish() -> None:
    def text(c: Confirmation, channel: str = "sms", opt_out: bool = True) -> str:
        return render_confirmation(c, channel, "es-CO", creditor="Banco Andino", payment_link=LINK,
                                   opt_out_required=opt_out, zone="America/Bogota", now=NOW).body

    approved = Confirmation("approved", "RC1", Decimal("150000.50"), "COP")
    assert text(approved) == ("Recibimos su pago de $150.000,50 para su obligación con Banco Andino. ¡Gracias! "
                              "Responda BAJA para no recibir más mensajes.")
    assert text(approved, opt_out=False).endswith("¡Gracias!")
    assert text(Confirmation("declined", "RC1", Decimal("1000"), "COP"), opt_out=False) == (
        f"Banco Andino: Su pago de $1.000,00 no fue aprobado. Puede intentarlo de nuevo en {LINK}")
    # 04:59 UTC on the 7th is still the 6th in Bogotá: the day the debtor reads is theirs.
    voucher = Confirmation("voucher", "RC2", Decimal("1000"), "COP", "baloto", "99887766",
                           dt.datetime(2026, 3, 7, 4, 59, tzinfo=dt.UTC))
    assert text(voucher, opt_out=False) == ("Banco Andino: Su referencia de pago en Baloto es 99887766, válida "
                                            "hasta el 6 de marzo de 2026. Valor a pagar: $1.000,00.")
    no_expiry = Confirmation("voucher", "RC2", Decimal("1000"), "COP", "oxxo", "1234")
    assert "Su referencia de pago en OXXO es 1234. Valor" in text(no_expiry)
    mail = render_confirmation(approved, "email", "es-CO", creditor="Banco Andino", payment_link=LINK,
                               opt_out_required=True, zone="America/Bogota", now=NOW)
    assert mail.subject == "Banco Andino: pago recibido" and mail.segments is None


def test_a_voucher_past_its_expiry_is_never_sent() -> None:
    voucher = Confirmation("voucher", "RC2", Decimal("1000"), "COP", "efecty", "1", NOW)
    with pytest.raises(TemplateError, match="voucher expired"):
        render_confirmation(voucher, "sms", "es-CO", creditor="B", payment_link=LINK, opt_out_required=True,
                            zone="America/Bogota", now=NOW)


def test_a_confirmation_survives_its_stored_form() -> None:
    c = Confirmation("voucher", "RC2", Decimal("1000.50"), "COP", "efecty", "1", NOW)
    assert Confirmation.from_document(c.document()) == c
    assert Confirmation.from_document(json.dumps(c.document())) == c


ALL = ("sms", "email", "whatsapp", "voice", "agent")
REACHABLE = frozenset({"sms", "email", "whatsapp"})


@pytest.mark.parametrize(("last", "treatment", "authorised", "opted_out", "reachable", "channel"), [
    ("email", ("sms",), ALL, frozenset(), REACHABLE, "email"),  # where the debtor was last reached
    (None, ("voice", "sms"), ALL, frozenset(), REACHABLE, "sms"),  # the treatment's first written channel
    (None, (), ALL, frozenset(), REACHABLE, "whatsapp"),
    (None, ("sms",), ("email", "voice"), frozenset(), REACHABLE, "email"),  # only what the file authorises
    (None, ("sms",), ALL, frozenset({"sms"}), REACHABLE, "whatsapp"),  # not a channel opted out of
    (None, ("sms",), ALL, frozenset({"all"}), REACHABLE, "sms"),  # every one opted out: the law refuses it
    (None, ("sms",), ALL, frozenset(), frozenset({"email"}), "email"),  # with a contact point
    (None, ("voice",), ("voice", "agent"), frozenset(), REACHABLE, None),  # never a call or a letter
])
def test_the_debtors_usual_channel(last: str | None, treatment: tuple[str, ...], authorised: tuple[str, ...],
                                   opted_out: frozenset[str], reachable: frozenset[str], channel: str | None) -> None:
    assert confirmation_channel(last_reached=last, treatment_channels=treatment, authorised=authorised,
                                opted_out=opted_out, reachable=reachable) == channel


def test_the_method_the_debtor_chose() -> None:
    both = PaymentMethods(True, ("efecty", "baloto", "oxxo"))
    assert method_of("", both) == "online" and method_of("cash", both) == "cash"
    assert method_of("", PaymentMethods(False, ("efecty",))) == "cash"
    for chosen, methods in (("cash", PaymentMethods(True)), ("online", PaymentMethods(False, ("efecty",))),
                            ("card", both), ("", NONE)):
        with pytest.raises(Invalid):
            method_of(chosen, methods)
    assert networks_text(("efecty",)) == "Efecty" and networks_text(both.cash_networks) == "Efecty, Baloto y OXXO"
