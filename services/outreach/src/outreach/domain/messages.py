"""The text a debtor receives (Spanish by default). Issue #6 turns these into per-client Jinja2 templates."""

from __future__ import annotations

from decimal import Decimal


def format_money(amount: Decimal, currency: str) -> str:
    """es-* style: thousands with '.', decimals with ','; no decimals for currencies that use none."""
    whole_units = currency in {"COP", "CLP", "PYG"}
    text = f"{amount:,.0f}" if whole_units else f"{amount:,.2f}"
    return "$ " + text.replace(",", "_").replace(".", ",").replace("_", ".")


def sms_body(*, creditor: str, account_ref: str, balance: Decimal, currency: str) -> str:
    return (f"{creditor}: su obligación {account_ref} tiene un saldo pendiente de "
            f"{format_money(balance, currency)}. Pague o acuerde una fecha de pago. Responda BAJA para no "
            "recibir más mensajes.")
