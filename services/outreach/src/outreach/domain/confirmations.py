"""Payment confirmations (#21): the message a debtor gets when their checkout at the client company's gateway is
approved, declined, or waits as a cash voucher; which of the debtor's channels it goes on; and its text, the
platform's own templates rendered like every message (strict variables, the sandbox's budget, the opt-out line
where the law asks for it). A confirmation names the creditor, the amount, a voucher's network, reference and expiry,
and the debtor page's link: nothing about the debtor (not even the name or the account, which other messages
carry)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import jinja2
from jinja2 import meta

from outreach.domain.template_sandbox import BoundedEnvironment, RenderBudget, render_texts
from outreach.domain.templates import (
    OPT_OUT_CHANNELS,
    OPT_OUT_LINES,
    Rendered,
    TemplateError,
    format_day,
    sms_segments,
)
from recaudo_common.clock import local_today
from recaudo_common.money import format_amount

ConfirmationKind = Literal["approved", "declined", "voucher"]
CONFIRMATION_CHANNELS = ("whatsapp", "sms", "email")  # written and read at once: never a call or letter
VARIABLES = {
    "creditor": "the client company's name",
    "amount": "the checkout's amount, formatted for the locale",
    "network": "the cash network of a voucher (Efecty, Baloto, OXXO, ...)",
    "voucher_reference": "the number the debtor gives at the cash point",
    "voucher_expires": "the voucher's last day, formatted for the locale (may be empty)",
    "payment_link": "the signed, expiring link to the debtor's page",
    "opt_out": "the opt-out line, where the law asks for it",
}

_SPANISH: dict[ConfirmationKind, tuple[str, str]] = {
    "approved": ("{{ creditor }}: pago recibido",
                 "Recibimos su pago de {{ amount }} para su obligación con {{ creditor }}. ¡Gracias! {{ opt_out }}"),
    "declined": ("{{ creditor }}: su pago no fue aprobado",
                 "{{ creditor }}: Su pago de {{ amount }} no fue aprobado. Puede intentarlo de nuevo en "
                 "{{ payment_link }} {{ opt_out }}"),
    "voucher": ("{{ creditor }}: su referencia de pago en {{ network }}",
                "{{ creditor }}: Su referencia de pago en {{ network }} es {{ voucher_reference }}"
                "{% if voucher_expires %}, válida hasta el {{ voucher_expires }}{% endif %}. Valor a pagar: "
                "{{ amount }}. {{ opt_out }}"),
}
_ENGLISH: dict[ConfirmationKind, tuple[str, str]] = {
    "approved": ("{{ creditor }}: payment received",
                 "We received your payment of {{ amount }} on your account with {{ creditor }}. Thank you! "
                 "{{ opt_out }}"),
    "declined": ("{{ creditor }}: your payment was not approved",
                 "{{ creditor }}: Your payment of {{ amount }} was not approved. You can try again at "
                 "{{ payment_link }} {{ opt_out }}"),
    "voucher": ("{{ creditor }}: your payment reference at {{ network }}",
                "{{ creditor }}: Your payment reference at {{ network }} is {{ voucher_reference }}"
                "{% if voucher_expires %}, valid until {{ voucher_expires }}{% endif %}. Amount: {{ amount }}. "
                "{{ opt_out }}"),
}
_ENV = BoundedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False, trim_blocks=True)
# Payments names networks by their kind; the message names them as the debtor knows them.
NETWORK_NAMES = {"efecty": "Efecty", "baloto": "Baloto", "corresponsales": "corresponsales bancarios",
                 "oxxo": "OXXO", "pagoefectivo": "PagoEfectivo", "su_red": "Su Red", "gana": "Gana"}


def network_name(network: str) -> str:
    return NETWORK_NAMES.get(network.lower(), network)


@dataclass(frozen=True)
class Confirmation:
    """What one confirmation says, kept on its attempt until it is sent (no personal data)."""

    kind: ConfirmationKind
    reference: str  # the platform's checkout reference
    amount: Decimal
    currency: str
    network: str | None = None
    voucher_reference: str | None = None
    expires_at: dt.datetime | None = None

    def document(self) -> dict[str, Any]:
        return {"kind": self.kind, "reference": self.reference, "amount": str(self.amount),
                "currency": self.currency, "network": self.network, "voucher_reference": self.voucher_reference,
                "expires_at": self.expires_at.isoformat() if self.expires_at else None}

    @classmethod
    def from_document(cls, stored: dict[str, Any] | str) -> Confirmation:
        doc: dict[str, Any] = json.loads(stored) if isinstance(stored, str) else stored  # jsonb, however read
        expires = doc.get("expires_at")
        return cls(doc["kind"], doc["reference"], Decimal(doc["amount"]), doc["currency"], doc.get("network"),
                   doc.get("voucher_reference"), dt.datetime.fromisoformat(expires) if expires else None)


def confirmation_kind(status: str, has_voucher: bool) -> ConfirmationKind | None:
    """Which checkout states the debtor is told of: approved, declined, and a pending cash voucher (its reference
    is what they need to pay). A checkout just created, pending online (PSE confirming) or expired says nothing
    new to the debtor."""
    if status in ("approved", "declined"):
        return status  # type: ignore[return-value]
    if status == "pending" and has_voucher:
        return "voucher"
    return None


def confirmation_channel(*, last_reached: str | None, treatment_channels: tuple[str, ...],
                         authorised: tuple[str, ...], opted_out: frozenset[str],
                         reachable: frozenset[str]) -> str | None:
    """The debtor's usual channel: the written one they were last reached on for this account, else the
    treatment's, else WhatsApp, SMS, e-mail; the first authorised one with a contact point that they have not
    opted out of. When every one is opted out, the first authorised with a contact point: the contact law then
    blocks it, and the trail says why (a confirmation respects an opt-out like any message). None: nowhere to
    write."""
    preferred = ([last_reached] if last_reached else []) + [*treatment_channels, *CONFIRMATION_CHANNELS]
    order = [c for c in dict.fromkeys(preferred) if c in CONFIRMATION_CHANNELS and c in authorised and c in reachable]
    allowed = [c for c in order if c not in opted_out and "all" not in opted_out]
    return (allowed or order)[0] if order else None


def template_for(kind: ConfirmationKind, locale: str) -> tuple[str, str]:
    """(subject, body) of the confirmation in the locale's language."""
    return (_ENGLISH if locale.startswith("en") else _SPANISH)[kind]


def used_variables(kind: ConfirmationKind, locale: str) -> set[str]:
    return set().union(*(meta.find_undeclared_variables(_ENV.parse(t)) for t in template_for(kind, locale)))


def render_confirmation(confirmation: Confirmation, channel: str, locale: str, *, creditor: str, payment_link: str,
                   opt_out_required: bool, zone: str, now: dt.datetime,
                   budget: RenderBudget = RenderBudget()) -> Rendered:
    """The confirmation's message on `channel`. A voucher that expired before the law let its message go out raises
    TemplateError: telling the debtor a reference they can no longer pay with would only mislead."""
    if confirmation.kind == "voucher" and confirmation.expires_at is not None and confirmation.expires_at <= now:
        raise TemplateError("the voucher expired before its message could go out", reason="voucher expired")
    language = "en" if locale.startswith("en") else "es"
    last_day = local_today(zone, confirmation.expires_at) if confirmation.expires_at else None
    values = {
        "creditor": creditor, "amount": format_amount(confirmation.amount, confirmation.currency, locale),
        "network": network_name(confirmation.network or ""), "voucher_reference": confirmation.voucher_reference or "",
        "voucher_expires": format_day(last_day, locale) if last_day else "",
        "payment_link": payment_link,
        "opt_out": OPT_OUT_LINES[language] if opt_out_required and channel in OPT_OUT_CHANNELS else "",
    }
    subject, body = template_for(confirmation.kind, locale)
    texts = render_texts([_ENV.from_string(body), _ENV.from_string(subject)], values, budget)
    text = " ".join(texts[0].split())  # one line on every channel: a confirmation is a sentence or two
    encoding, segments = sms_segments(text) if channel == "sms" else (None, None)
    return Rendered(texts[1].strip() if channel == "email" else None, text, encoding, segments)
