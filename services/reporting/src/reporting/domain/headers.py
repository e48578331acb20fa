"""Column headers of the reports' exports: Spanish for es-* client companies, the API's names otherwise."""

from __future__ import annotations

SPANISH = {
    "key": "grupo", "bucket": "tramo", "accounts_placed": "cuentas asignadas", "placed_balance": "saldo asignado",
    "accounts_recalled": "cuentas retiradas", "recovered": "recaudo", "payments": "pagos",
    "recovery_rate": "tasa de recaudo", "attempts": "gestiones", "contact_cost": "costo de gestión",
    "accounts_contacted": "cuentas contactadas", "accounts_right_party": "cuentas con contacto efectivo",
    "right_party_contacts": "contactos efectivos",
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
