"""What each row code of an upload means, in Spanish, for the people who read the rejections and warnings (the
console's tables and the exports of es-* client companies), and each issue's detail in Spanish, built from its code
and parameters as the API's English `message` is (ingest.domain.portfolio.Issue)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from recaudo_common.events import CHANNELS

Params = Mapping[str, str | int]

ISSUE_LABELS = {
    "missing_account_ref": "Falta la referencia de la obligación", "missing_debtor_id": "Falta la identificación",
    "missing_name": "Falta el nombre", "invalid_balance": "Saldo no válido", "missing_mora": "Faltan los días de mora",
    "invalid_due_date": "Fecha de vencimiento no válida", "invalid_days_past_due": "Días de mora no válidos",
    "invalid_currency": "Moneda distinta de la del cliente", "duplicate_account_ref": "Obligación repetida",
    "mora_mismatch": "Los días de mora no cuadran con el vencimiento", "invalid_phone": "Teléfono no válido",
    "invalid_email": "Correo no válido", "too_many_phones": "Demasiados teléfonos",
    "too_many_emails": "Varios correos en una celda",
    "field_too_long": "Un campo es demasiado largo", "too_many_fields": "La fila tiene más campos que el encabezado",
    "malformed_json_line": "La línea no es un objeto JSON",
    "invalid_original_amount": "Monto original no válido",
    "invalid_last_payment_amount": "Valor del último pago no válido",
    "invalid_last_payment_date": "Fecha del último pago no válida",
    "invalid_authorised_channels": "Canal autorizado desconocido",
}


def meaning_of(code: str) -> str:
    """The code's Spanish meaning; a code without one (added later) is shown as itself."""
    return ISSUE_LABELS.get(code, code)


# A canonical field as a sentence names it.
FIELD_NAMES = {
    "account_ref": "la referencia de la obligación", "debtor_id": "la identificación", "debtor_id_type":
    "el tipo de identificación", "full_name": "el nombre", "phones": "el teléfono", "email": "el correo",
    "address": "la dirección", "city": "la ciudad", "region": "el departamento", "product": "el producto",
    "original_amount": "el monto original", "balance": "el saldo", "currency": "la moneda", "due_date":
    "la fecha de vencimiento", "days_past_due": "los días de mora", "last_payment_date": "la fecha del último pago",
    "last_payment_amount": "el valor del último pago", "authorised_channels": "los canales autorizados",
}
PAST_THE_CENT = "tiene decimales más allá del centavo (más de dos que no son 0)"


def _amount(name: str, p: Params) -> str:
    reason = p["reason"]
    if reason == "blank":
        return f"{name} está en blanco"
    if reason == "not_a_number":
        return f"{name} no es un número como se escribe en {p['locale']}"
    if reason == "past_the_cent":
        return f"{name} {PAST_THE_CENT}"
    if reason == "past_minor_units":
        return f"{name} tiene decimales que no son 0 y el {p['currency']} no tiene decimales"
    if reason == "out_of_range" and name == "el saldo":
        return "el saldo debe ser mayor que 0 y menor que 10^12, al centavo"
    if reason == "out_of_range":
        return f"{name} debe ser al menos 0 y menor que 10^12"
    raise KeyError(reason)


def _field_too_long(f: str, p: Params) -> str:
    if p.get("reason") == "column":
        return f"la columna «{f}» tiene más de {p['limit']} caracteres"
    return f"{FIELD_NAMES.get(f, f)} tiene más de {p['limit']} caracteres"


def _currency(f: str, p: Params) -> str:
    if p.get("reason") == "amount":
        return f"{FIELD_NAMES.get(f, f)} está en {p['written']}, no en la moneda del cliente, {p['currency']}"
    return f"la moneda no es la del cliente, el código ISO 4217 {p['currency']}"


def _balance(_: str, p: Params) -> str:
    extra = {"past_the_cent": "; los montos se guardan al centavo",
             "past_minor_units": f"; los montos en {p.get('currency')} son enteros"}.get(str(p["reason"]), "")
    return _amount("el saldo", p) + extra


def _due_date(_: str, p: Params) -> str:
    if p["reason"] == "not_a_date":
        return "la fecha de vencimiento no es una fecha válida"
    return f"la fecha de vencimiento da {p['days']} días de mora, fuera de -365..36500"


def _optional_amount(f: str, p: Params) -> str:
    return f"{_amount(FIELD_NAMES.get(f, f), p)}; se descartó"


def _optional_date(f: str, p: Params) -> str:
    if p["reason"] != "not_a_date":
        raise KeyError(p["reason"])
    return f"{FIELD_NAMES.get(f, f)} no es una fecha válida; se descartó"


def _channels(_: str, p: Params) -> str:
    one = p["count"] == 1
    said = (f"{p['count']} de los canales autorizados no {'es un canal' if one else 'son canales'} que la "
            f"plataforma conozca ({', '.join(CHANNELS)}); se {'descartó' if one else 'descartaron'}")
    return said + ("; valen los canales por defecto del cliente" if p["defaults"] else "")


DETAILS: dict[str, Callable[[str, Params], str]] = {
    "missing_account_ref": lambda f, p: "la referencia de la obligación está en blanco",
    "missing_debtor_id": lambda f, p: "la identificación del deudor no tiene ninguna letra ni dígito"
    if p.get("reason") == "unindexable" else "la identificación del deudor está en blanco",
    "missing_name": lambda f, p: "el nombre del deudor está en blanco",
    "invalid_balance": _balance,
    "missing_mora": lambda f, p: "no tiene ni fecha de vencimiento ni días de mora",
    "invalid_due_date": _due_date,
    "invalid_days_past_due": lambda f, p: "los días de mora no son un número entero entre -365 y 36500",
    "invalid_currency": _currency,
    "duplicate_account_ref": lambda f, p: "esta obligación ya apareció en una fila anterior del archivo; "
                                          "se conservó la primera",
    "field_too_long": _field_too_long,
    "too_many_fields": lambda f, p: f"la fila tiene {p['fields']} campos y el encabezado {p['width']}",
    "malformed_json_line": lambda f, p: "la línea no es un objeto JSON; no se puede leer ninguno de sus campos",
    "mora_mismatch": lambda f, p: f"la fecha de vencimiento da {p['computed']} días de mora y el archivo dice "
                                  f"{p['stated']}; vale la fecha de vencimiento",
    "invalid_phone": lambda f, p: "un teléfono no es válido para el país; se descartó",
    "invalid_email": lambda f, p: "el correo no es válido; se descartó",
    "too_many_phones": lambda f, p: f"la fila tiene {p['count']} teléfonos; se conservan los primeros {p['limit']}",
    "too_many_emails": lambda f, p: f"la celda tiene {p['count']} correos; se conserva el primero",
    "invalid_original_amount": _optional_amount,
    "invalid_last_payment_amount": _optional_amount,
    "invalid_last_payment_date": _optional_date,
    "invalid_authorised_channels": _channels,
}


def spanish_detail(code: str, field: str, params: Params) -> str:
    """The issue's detail in Spanish, as its English `message` says it. An issue kept before its parameters were
    (ingest migration 0022), whose detail needs them, is told by its code's meaning alone."""
    try:
        said = DETAILS[code](field, params)
    except KeyError:
        return meaning_of(code)
    return said[:1].upper() + said[1:]
