"""Message templates: Jinja2 per client company × channel × locale, money and dates formatted by Babel, SMS
length in GSM-7/UCS-2 segments, validation on save (an unknown variable is an error, not a blank), and every
render bounded by the sandbox's budget (template_sandbox.py)."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import jinja2
from babel.dates import format_date
from babel.numbers import format_decimal
from jinja2 import meta

from outreach.domain.template_sandbox import (
    BoundedEnvironment,
    RenderBudget,
    TemplateError,
    TemplateTooExpensive,
    render_texts,
)
from recaudo_common.money import after_discount, format_amount

__all__ = ["RenderBudget", "TemplateError", "TemplateTooExpensive"]

LOCALES = ("es-CO", "es-PE", "es-MX", "es-AR", "en-US")
DEFAULT_LOCALE = "es-CO"
WRITTEN_CHANNELS = frozenset({"sms", "email", "whatsapp", "letter"})
OPT_OUT_CHANNELS = frozenset({"sms", "email", "whatsapp"})  # channels a debtor can answer BAJA on
VARIABLES = {
    "creditor": "the client company's name",
    "debtor_name": "the debtor's first name",
    "account_ref": "the account's reference at the client company",
    "balance": "the current balance, formatted for the locale",
    "days_past_due": "days past due",
    "offer": "the offer of the treatment in words (may be empty)",
    "payment_link": "the signed, expiring link to the debtor's page",
    "link_expires": "the date the link expires, formatted for the locale",
    "opt_out": "the opt-out line (required on sms, email and whatsapp where the law asks for it)",
}

_ENV = BoundedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False, trim_blocks=True)

_SPANISH = {
    "sms": (None, "{{ creditor }}: {{ debtor_name }}, su obligación {{ account_ref }} tiene un saldo de "
                  "{{ balance }}. {{ offer }}Pague o acuerde aquí: {{ payment_link }} {{ opt_out }}"),
    "whatsapp": (None, "Hola {{ debtor_name }}, le escribimos de parte de {{ creditor }}. Su obligación "
                       "{{ account_ref }} tiene un saldo de {{ balance }} con {{ days_past_due }} días de mora. "
                       "{{ offer }}Puede pagar o acordar una fecha aquí: {{ payment_link }} {{ opt_out }}"),
    "email": ("{{ creditor }}: saldo pendiente de su obligación {{ account_ref }}",
              "Estimado(a) {{ debtor_name }}:\n\nSu obligación {{ account_ref }} con {{ creditor }} registra un "
              "saldo de {{ balance }} y {{ days_past_due }} días de mora.\n{{ offer }}\nPuede ver sus opciones, "
              "pagar o acordar una fecha de pago en {{ payment_link }} (enlace válido hasta el "
              "{{ link_expires }}).\n\n{{ opt_out }}"),
    "voice": (None, "Buen día, {{ debtor_name }}. Le llamamos de parte de {{ creditor }} por su obligación "
                    "{{ account_ref }}, con un saldo de {{ balance }}. {{ offer }}"),
    "agent": (None, "Guion: saludar a {{ debtor_name }}, confirmar identidad, informar saldo de {{ balance }} "
                    "({{ days_past_due }} días de mora) de la obligación {{ account_ref }} con {{ creditor }}. "
                    "{{ offer }}Ofrecer el enlace {{ payment_link }}."),
    "letter": ("{{ creditor }} — Aviso de cobro",
               "Señor(a) {{ debtor_name }}:\n\nLe informamos que su obligación {{ account_ref }} presenta un "
               "saldo de {{ balance }} con {{ days_past_due }} días de mora. {{ offer }}\n\nPague o acuerde en "
               "{{ payment_link }}."),
}
_ENGLISH = {
    "sms": (None, "{{ creditor }}: {{ debtor_name }}, account {{ account_ref }} has a balance of {{ balance }}. "
                  "{{ offer }}Pay or set a date: {{ payment_link }} {{ opt_out }}"),
    "whatsapp": (None, "Hi {{ debtor_name }}, this is {{ creditor }} about account {{ account_ref }}: balance "
                       "{{ balance }}, {{ days_past_due }} days past due. {{ offer }}{{ payment_link }} "
                       "{{ opt_out }}"),
    "email": ("{{ creditor }}: balance due on account {{ account_ref }}",
              "Dear {{ debtor_name }},\n\nAccount {{ account_ref }} with {{ creditor }} has a balance of "
              "{{ balance }}, {{ days_past_due }} days past due.\n{{ offer }}\nSee your options or pay at "
              "{{ payment_link }} (valid until {{ link_expires }}).\n\n{{ opt_out }}"),
    "voice": (None, "Hello {{ debtor_name }}, this is {{ creditor }} calling about account {{ account_ref }}, "
                    "balance {{ balance }}. {{ offer }}"),
    "agent": (None, "Script: greet {{ debtor_name }}, verify identity, state the balance of {{ balance }} on "
                    "account {{ account_ref }} with {{ creditor }}. {{ offer }}Offer {{ payment_link }}."),
    "letter": ("{{ creditor }} — Collection notice",
               "Dear {{ debtor_name }},\n\nAccount {{ account_ref }} has a balance of {{ balance }}, "
               "{{ days_past_due }} days past due. {{ offer }}\n\nPay or arrange at {{ payment_link }}."),
}
OPT_OUT_LINES = {"es": "Responda BAJA para no recibir más mensajes.", "en": "Reply STOP to opt out."}


@dataclass(frozen=True)
class Template:
    channel: str
    locale: str
    subject: str | None
    body: str


@dataclass(frozen=True)
class Rendered:
    subject: str | None
    body: str
    encoding: str | None  # sms only: "GSM-7" or "UCS-2"
    segments: int | None


def default_template(channel: str, locale: str) -> Template:
    subject, body = (_ENGLISH if locale.startswith("en") else _SPANISH)[channel]
    return Template(channel, locale, subject, body)


def validate(channel: str, locale: str, subject: str | None, body: str, *, opt_out_required: bool) -> None:
    """Raises TemplateError with every problem found: syntax, unknown variables, a missing opt-out line."""
    if locale not in LOCALES:
        raise TemplateError(f"unknown locale {locale!r}; use one of {', '.join(LOCALES)}")
    problems: list[str] = []
    used: set[str] = set()
    for name, source in (("subject", subject), ("body", body)):
        if source is None:
            continue
        try:
            used |= meta.find_undeclared_variables(_ENV.parse(source))
        except jinja2.TemplateSyntaxError as e:
            problems.append(f"{name}: syntax error on line {e.lineno}: {e.message}")
        except (RecursionError, ValueError, OverflowError) as e:  # nesting too deep, a number too long to read
            problems.append(f"{name}: does not parse ({type(e).__name__})")
    unknown = sorted(used - set(VARIABLES))
    if unknown:
        problems.append(f"unknown variable(s): {', '.join(unknown)}; known: {', '.join(sorted(VARIABLES))}")
    if opt_out_required and channel in OPT_OUT_CHANNELS and "opt_out" not in used:
        problems.append("the law requires the opt-out line here: include {{ opt_out }}")
    if channel == "email" and not subject:
        problems.append("an email needs a subject")
    if problems:
        raise TemplateError("; ".join(problems))


@functools.lru_cache(maxsize=512)
def _compiled(source: str) -> jinja2.Template:
    """Compiling is most of a render's cost; a template's source is its cache key."""
    try:
        return _ENV.from_string(source)
    except jinja2.TemplateSyntaxError as e:
        raise TemplateError(f"syntax error on line {e.lineno}: {e.message}",
                            reason="the template does not compile") from None
    except (RecursionError, ValueError, OverflowError) as e:  # nesting too deep, a number too long to read
        raise TemplateError(f"the template does not compile: {type(e).__name__}",
                            reason="the template does not compile") from None


def format_day(day: dt.date, locale: str) -> str:
    return format_date(day, "long", locale=locale.replace("-", "_"))


def offer_text(offer: str | None, discount_pct: Decimal | None, balance: Decimal, currency: str, locale: str) -> str:
    english = locale.startswith("en")
    if offer == "settlement" and discount_pct:
        money = format_amount(after_discount(balance, discount_pct, currency), currency, locale)
        return (f"Settle today for {money}. " if english
                else f"Cancele hoy con {money} ({format_decimal(discount_pct, locale=locale.replace('-', '_'))} % "
                     "de descuento). ")
    if offer == "instalment_plan":
        return "You can pay in instalments. " if english else "Puede pagar en cuotas. "
    return ""


def template_values(channel: str, locale: str, *, creditor: str, debtor_name: str, account_ref: str,
                    balance: Decimal, currency: str, days_past_due: int, offer: str, payment_link: str,
                    link_expires: dt.date, opt_out_required: bool) -> dict[str, Any]:
    """Every variable a template may use, formatted for the locale (what `render` fills in, and what a WhatsApp
    approved template's parameters are taken from)."""
    return {
        "creditor": creditor, "debtor_name": debtor_name, "account_ref": account_ref,
        "balance": format_amount(balance, currency, locale), "days_past_due": days_past_due,
        "offer": offer, "payment_link": payment_link, "link_expires": format_day(link_expires, locale),
        "opt_out": OPT_OUT_LINES["en" if locale.startswith("en") else "es"]
        if opt_out_required and channel in OPT_OUT_CHANNELS else "",
    }


def render(template: Template, *, creditor: str, debtor_name: str, account_ref: str, balance: Decimal,
           currency: str, days_past_due: int, offer: str, payment_link: str, link_expires: dt.date,
           opt_out_required: bool, budget: RenderBudget = RenderBudget(), add_opt_out: bool = True) -> Rendered:
    """The message for one account; raises TemplateTooExpensive when the template breaks `budget` (subject and
    body together) and TemplateError when it fails otherwise. Where the law asks for the opt-out line, a message
    whose template left it out (`{{ opt_out }}` inside a condition that did not hold) gets it at its end, unless
    `add_opt_out` is False (a save's preview, which refuses such a template instead)."""
    values = template_values(
        template.channel, template.locale, creditor=creditor, debtor_name=debtor_name, account_ref=account_ref,
        balance=balance, currency=currency, days_past_due=days_past_due, offer=offer, payment_link=payment_link,
        link_expires=link_expires, opt_out_required=opt_out_required)
    parts = [_compiled(template.body)] + ([_compiled(template.subject)] if template.subject else [])
    body, *subject_text = render_texts(parts, values, budget)
    body = " ".join(body.split(" ")).strip()
    subject = subject_text[0].strip() if subject_text else None
    if template.channel in {"sms", "whatsapp"}:
        body = " ".join(body.split())
    line = values["opt_out"]
    if add_opt_out and line and line not in body:
        body = f"{body}\n\n{line}" if template.channel == "email" else f"{body} {line}".strip()
    encoding, segments = sms_segments(body) if template.channel == "sms" else (None, None)
    return Rendered(subject, body, encoding, segments)


def preview(template: Template, *, opt_out_required: bool, budget: RenderBudget, **sample: Any) -> Rendered:
    """What a save runs before anything is stored, in this order: every check of `validate`, then the rendering
    on a sample account under the budget. Raises TemplateError (TemplateTooExpensive for a broken budget)."""
    validate(template.channel, template.locale, template.subject, template.body, opt_out_required=opt_out_required)
    shown = render(template, opt_out_required=opt_out_required, budget=budget, add_opt_out=False, **sample)
    if opt_out_required and template.channel in OPT_OUT_CHANNELS and OPT_OUT_LINES[
            "en" if template.locale.startswith("en") else "es"] not in shown.body:
        raise TemplateError("the law requires the opt-out line in every message: {{ opt_out }} must not depend on "
                            "a condition (it did not show on the sample account)")
    return shown


# GSM 03.38: the basic set (one septet each) and the extension table (two septets: escape + char).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")


def sms_segments(text: str) -> tuple[str, int]:
    """("GSM-7" or "UCS-2", number of SMS parts): 160/153 septets or 70/67 UTF-16 units per part."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in text):
        septets = sum(2 if c in GSM7_EXTENDED else 1 for c in text)
        return "GSM-7", 1 if septets <= 160 else -(-septets // 153)
    units = len(text.encode("utf-16-le")) // 2
    return "UCS-2", 1 if units <= 70 else -(-units // 67)
