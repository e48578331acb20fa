"""What each row code of an upload means, in Spanish, for the people who read the rejections and warnings (the
console's tables and the exports of es-* client companies); the API's `message` beside it gives the detail."""

ISSUE_LABELS = {
    "missing_account_ref": "Falta la referencia de la obligación", "missing_debtor_id": "Falta la identificación",
    "missing_name": "Falta el nombre", "invalid_balance": "Saldo no válido", "missing_mora": "Faltan los días de mora",
    "invalid_due_date": "Fecha de vencimiento no válida", "invalid_days_past_due": "Días de mora no válidos",
    "invalid_currency": "Moneda distinta de la del cliente", "duplicate_account_ref": "Obligación repetida",
    "mora_mismatch": "Los días de mora no cuadran con el vencimiento", "invalid_phone": "Teléfono no válido",
    "invalid_email": "Correo no válido", "too_many_phones": "Demasiados teléfonos",
    "field_too_long": "Un campo es demasiado largo", "too_many_fields": "La fila tiene más campos que el encabezado",
    "invalid_original_amount": "Monto original no válido",
    "invalid_last_payment_amount": "Valor del último pago no válido",
    "invalid_last_payment_date": "Fecha del último pago no válida",
    "invalid_authorised_channels": "Canal autorizado desconocido",
}


def meaning_of(code: str) -> str:
    """The code's Spanish meaning; a code without one (added later) is shown as itself."""
    return ISSUE_LABELS.get(code, code)
