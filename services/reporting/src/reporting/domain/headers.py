"""Column headers and group names of the reports' exports: Spanish for es-* client companies, the API's names
otherwise (the JSON API always keeps its English keys)."""

from __future__ import annotations

from recaudo_common.channel_words import GROUP_WORDS

SPANISH = {
    "key": "grupo", "bucket": "tramo", "accounts_placed": "cuentas asignadas", "placed_balance": "saldo asignado",
    "accounts_recalled": "cuentas retiradas", "recovered": "recaudo", "payments": "pagos",
    "recovery_rate": "tasa de recaudo", "attempts": "gestiones", "contact_cost": "costo de gestión",
    "accounts_contacted": "cuentas contactadas", "accounts_right_party": "cuentas con contacto efectivo",
    "right_party_contacts": "contactos efectivos", "right_party_promises": "contactos efectivos con promesa",
    "simulated_attempts": "gestiones simuladas", "promises_made": "promesas de pago",
    "promises_due": "promesas vencidas", "promises_kept": "promesas cumplidas",
    "accounts_liquidated": "cuentas canceladas", "contact_rate": "tasa de contacto",
    "right_party_contact_rate": "tasa de contacto efectivo", "ptp_rate": "tasa de promesas",
    "kept_promise_rate": "tasa de cumplimiento", "cost_ratio": "costo sobre recaudo",
    "liquidation_rate": "tasa de cancelación", "rate": "tasa de comisión", "commission": "comisión",
    "remittance": "a remitir al cliente", "outstanding": "saldo pendiente", "written_off": "castigado",
    "accounts_written_off": "cuentas castigadas", "recovered_after_write_off": "recaudo de cartera castigada",
    "written_off_balance": "saldo castigado pendiente",
}
MONEY = frozenset({"placed_balance", "recovered", "contact_cost", "commission", "remittance", "outstanding",
                   "written_off", "recovered_after_write_off", "written_off_balance"})


def headers_for(columns: list[str], locale: str) -> list[str]:
    if locale.startswith("es"):
        return [SPANISH.get(c, c) for c in columns]
    return list(columns)


# The group names the platform itself gives (a bucket's, a product's or a segment's own label is the client
# company's or the strategy's word, kept as it is): an account without one, a payment without a contact, the
# channels, the strategy's arms (the words the dashboard and the consoles say too) and a segment's value tier and
# reason.
SPANISH_GROUPS = GROUP_WORDS
SPANISH_SEGMENT_PARTS = {"high": "alto", "medium": "medio", "low": "bajo", "no_rule": "sin regla",
                         "unprofitable": "no rentable"}
PLATFORM_NAMED = frozenset({"channel", "strategy_arm"})  # groups whose every name is the platform's


def group_for(group_by: str | None, key: str, locale: str) -> str:
    """A group's name in an export: for es-* client companies the platform's words in Spanish (a segment is
    `bucket/tier[/reason]`, its bucket the client company's label); anything else as the API names it."""
    if not locale.startswith("es"):
        return key
    if key in ("unassigned", "total") or group_by in PLATFORM_NAMED:
        return SPANISH_GROUPS.get(key, key)
    if group_by == "segment":
        bucket, *rest = key.split("/")
        return "/".join([bucket, *(SPANISH_SEGMENT_PARTS.get(part, part) for part in rest)])
    return key
