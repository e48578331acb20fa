"""Which column of a portfolio file is which canonical field (MISSION §4): the headers recognised for each, matched
on their normalised form, and an upload's explicit mapping."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

RECOGNISED: dict[str, tuple[str, ...]] = {
    "account_ref": ("obligacion", "numero obligacion", "nro obligacion", "cuenta", "numero cuenta", "credito",
                    "referencia", "account", "account ref", "account id"),
    "debtor_id": ("identificacion", "numero identificacion", "cedula", "documento", "nit", "dni", "ruc", "rfc",
                  "curp", "cuit", "debtor id"),
    "debtor_id_type": ("tipo identificacion", "tipo documento", "id type"),
    "full_name": ("nombre", "nombres", "nombre completo", "razon social", "cliente", "deudor", "titular", "name",
                  "full name"),
    "phones": ("telefono", "telefono1", "telefono2", "telefono3", "celular", "movil", "tel", "phone", "mobile"),
    "email": ("correo", "correo electronico", "email", "e-mail", "mail"),
    "address": ("direccion", "address"),
    "city": ("ciudad", "municipio", "city"),
    "region": ("departamento", "provincia", "estado", "region"),
    "product": ("producto", "tipo producto", "linea", "product"),
    "original_amount": ("monto original", "valor desembolsado", "capital inicial", "valor credito",
                        "original amount"),
    "balance": ("saldo", "saldo total", "saldo capital", "saldo vencido", "deuda", "monto adeudado", "valor mora",
                "balance"),
    "currency": ("moneda", "currency"),
    "due_date": ("fecha vencimiento", "fecha mora", "vencimiento", "due date"),
    "days_past_due": ("dias mora", "dias vencidos", "edad mora", "altura mora", "mora", "dpd", "days past due"),
    "last_payment_date": ("fecha ultimo pago", "ultimo pago", "last payment date"),
    "last_payment_amount": ("valor ultimo pago", "last payment amount"),
    "authorised_channels": ("canales autorizados", "canales", "authorised channels", "authorized channels"),
}
MULTI_VALUED = frozenset({"phones"})
REQUIRED = ("account_ref", "debtor_id", "full_name", "balance")


def normalise_header(header: str) -> str:
    """Case, accents, spaces, '_', '-' and '.' ignored."""
    decomposed = unicodedata.normalize("NFKD", header)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[\s_\-.]+", "", plain.lower().strip().lstrip("\ufeff"))


_LOOKUP: dict[str, str] = {normalise_header(h): f for f, hs in RECOGNISED.items() for h in hs}


def account_ref_column(header: list[str]) -> int | None:
    """The position of the account reference column, if a header names one."""
    for i, h in enumerate(header):
        if _LOOKUP.get(normalise_header(h)) == "account_ref":
            return i
    return None


class MappingError(Exception):
    def __init__(self, code: str, detail: str, *, missing: list[str] | None = None,
                 headers: list[str] | None = None, ambiguous: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.code, self.detail = code, detail
        self.missing, self.headers, self.ambiguous = missing or [], headers or [], ambiguous or {}

    def __reduce__(self) -> tuple[Callable[..., MappingError], tuple[str, str, list[str], list[str],
                                                                     dict[str, list[str]]]]:
        # Pickled whole: the checking process sends it to the worker (Exception's own pickles only `detail`).
        return _mapping_error, (self.code, self.detail, self.missing, self.headers, self.ambiguous)


def _mapping_error(code: str, detail: str, missing: list[str], headers: list[str],
                   ambiguous: dict[str, list[str]]) -> MappingError:
    return MappingError(code, detail, missing=missing, headers=headers, ambiguous=ambiguous)


@dataclass(frozen=True)
class ColumnMap:
    fields: dict[str, list[int]]
    extras: dict[str, int]


def map_columns(headers: list[str], explicit: dict[str, str] | None = None) -> ColumnMap:
    """Maps header positions to canonical fields; an explicit mapping (field -> header) wins."""
    explicit = explicit or {}
    unknown = [f for f in explicit if f not in RECOGNISED]
    if unknown:
        raise MappingError("invalid_mapping", f"unknown fields in mapping: {', '.join(unknown)}", headers=headers)
    by_name = {h: i for i, h in enumerate(headers)}
    fields: dict[str, list[int]] = {}
    used: set[int] = set()
    for f, source in explicit.items():
        if source not in by_name:
            raise MappingError("invalid_mapping", f"mapping names column {source!r}, which the file lacks",
                               headers=headers)
        fields[f] = [by_name[source]]
        used.add(by_name[source])
    ambiguous: dict[str, list[str]] = {}
    for i, h in enumerate(headers):
        found = _LOOKUP.get(normalise_header(h))
        if found is None or i in used or found in explicit:
            continue
        fields.setdefault(found, []).append(i)
        used.add(i)
        if found not in MULTI_VALUED and len(fields[found]) > 1:
            ambiguous[found] = [headers[j] for j in fields[found]]
    if ambiguous:
        detail = "; ".join(f"{f}: {' and '.join(repr(h) for h in hs)}" for f, hs in ambiguous.items())
        raise MappingError("ambiguous_mapping", f"several columns match one field ({detail}); send a mapping",
                           headers=headers, ambiguous=ambiguous)
    missing = [f for f in REQUIRED if f not in fields]
    if "due_date" not in fields and "days_past_due" not in fields:
        missing.append("due_date or days_past_due")
    if missing:
        raise MappingError("missing_required_columns", f"no column for {', '.join(missing)}",
                           missing=missing, headers=headers)
    names = column_names(headers)
    extras = {names[i]: i for i, h in enumerate(headers) if i not in used and h.strip()}
    return ColumnMap(fields, extras)


def column_names(headers: list[str]) -> list[str]:
    """Each column's name as its values are kept (an account's extra attributes, a rejected row's raw fields): its
    header, `column_N` when that is blank, and a header written again told apart by its place (`Obs (column_7)`),
    so that no column's values are lost under another's name."""
    names: list[str] = []
    taken: set[str] = set()
    for i, h in enumerate(headers):
        name = h if h and h not in taken else f"{h} (column_{i + 1})" if h else f"column_{i + 1}"
        taken.add(name)
        names.append(name)
    return names
