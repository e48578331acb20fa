"""The console's payments page (#23): a client company's suspense queue (the payments that matched no account) in
a table, each with the assignment an operator makes from it. Thin: the queue comes from the suspense handler; the
assignment is the page's script calling the existing API (POST .../payments/unmatched/{id}/assign) with the session
cookie and the CSRF token, so the page adds no business logic of its own."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from payments import handlers, store
from payments.domain.bank_files import ALREADY_BANKED, IN_EARLIER_FILE, POSSIBLE_DUPLICATE
from payments.schemas import UnmatchedPaymentOut
from payments.store import SCHEMA
from recaudo_common.auth import Principal
from recaudo_common.client_copy import ClientCopy
from recaudo_common.console import AMOUNTS_SCRIPT, amounts_style, page, pages_of, script
from recaudo_common.console.client_pages import ClientReader, client_reader, refusal
from recaudo_common.console.visitor import to_sign_in, visitor
from recaudo_common.dependencies import PlatformDep
from recaudo_common.money import MARKS, format_amount
from recaudo_common.routing import AuthorisedFirstRoute

PAGES = pages_of(Path(__file__).parent / "console_templates")
SCRIPT = Path(__file__).parent / "console_templates" / "suspense.js"
SHOWN = 50
CLIENTS_SHOWN = 500
REFUSED_ROLE = ("Su rol no permite ver los pagos sin asignar: la cola es de los operadores, los supervisores y las "
                "personas de la empresa cliente.")
# Why a payment is in suspense, as the matching, the gateways' booking and the bank files name it.
REASONS = {
    "unknown_account_ref": "La cuenta indicada no existe",
    "ambiguous_account_ref": "Varias cuentas coinciden con la referencia sin sus ceros a la izquierda",
    "unknown_debtor_id": "No hay deudor con ese documento",
    "debtor_has_several_open_accounts": "El deudor tiene varias cuentas abiertas",
    "no_reference": "Llegó sin referencia",
    "currency_mismatch": "Moneda distinta a la de la empresa",
    "amount_not_in_cents": "Monto con más de dos decimales",
    "amount_not_in_minor_units": "Monto con más decimales de los que tiene la moneda",
    "duplicate_reference": "La pasarela aprobó otro pago con la misma referencia",
    "possible_duplicate": "Puede ser la consignación ya registrada a mano para la cuenta",
    ALREADY_BANKED: "Puede ser una consignación que el extracto del banco ya trajo",
    IN_EARLIER_FILE: "Puede ser la misma línea de un archivo bancario ya cargado",
    "dispute_won": "Devuelto por una disputa ganada de un pago que estaba en la cola",
}
SOURCES = {"gateway": "Pasarela", "bank_file": "Archivo bancario", "manual": "Registro manual"}

router = APIRouter(prefix="/console/payments", tags=["console"], include_in_schema=False,
                   route_class=AuthorisedFirstRoute)


@dataclass(frozen=True)
class SuspenseRow:
    id: uuid.UUID
    received_at: str
    amount: str
    reference: str
    source: str
    reason: str
    same_deposit: bool = False  # may be a deposit already applied (bank_files/pairing): it can be closed as that one


def _row(p: UnmatchedPaymentOut, client: ClientCopy) -> SuspenseRow:
    # A gateway may give the account's reference as its own reference too: shown once.
    reference = p.reference if p.reference != p.account_ref_given else None
    given = [g for g in (p.account_ref_given and f"Cuenta {p.account_ref_given}",
                         p.debtor_id_given and f"Documento {p.debtor_id_given}", reference) if g]
    source = SOURCES.get(p.source, p.source)
    if p.gateway and p.source == "gateway":
        source += f" · {p.gateway}"
    if p.gateway_payment_id:  # what the gateway's dashboard or the bank's statement finds it by
        source += f" ({p.gateway_payment_id})"
    return SuspenseRow(
        p.id, p.received_at.astimezone(zoneinfo.ZoneInfo(client.timezone)).strftime("%Y-%m-%d %H:%M"),
        # Not cut to the currency's cents: a gateway's payment in fractions of one shows what the gateway said.
        format_amount(p.amount, p.currency, client.locale, as_given=True),
        " · ".join(given) or "—", source, REASONS.get(p.reason or "", p.reason or "—"),
        same_deposit=p.reason in (POSSIBLE_DUPLICATE, ALREADY_BANKED, IN_EARLIER_FILE))


@dataclass(frozen=True)
class PaidRow:
    id: uuid.UUID
    received_at: str
    amount: str
    reversed: str | None
    reversible: bool
    source: str
    reference: str
    key: str  # the Idempotency-Key its reversal is sent with: a second press answers the first, reverses no more


def _paid(p: store.AccountPayment, client: ClientCopy) -> PaidRow:
    locale = client.locale
    return PaidRow(
        p.id, p.received_at.astimezone(zoneinfo.ZoneInfo(client.timezone)).strftime("%Y-%m-%d %H:%M"),
        format_amount(p.amount, p.currency, locale),
        format_amount(p.reversed_amount, p.currency, locale) if p.reversed_amount else None,
        p.reversed_amount < p.amount, SOURCES.get(p.source, p.source), p.reference or "—", f"consola-{uuid.uuid4()}")


HEADING = "Pagos"


def _refusal(principal: Principal, status: int, message: str) -> Response:
    return refusal(principal, HEADING, status, message)


@router.get("/suspense.js", include_in_schema=False)
async def suspense_script() -> Response:
    """The page's own script (the console's CSP allows scripts from 'self' only, never inline)."""
    return script(SCRIPT)


@router.get("/amounts.js", include_in_schema=False)
async def amounts_script() -> Response:
    """The script that writes the page's amounts as the server writes its own rows (loaded before the page's)."""
    return script(AMOUNTS_SCRIPT)


@router.get("")
async def choose_client(request: Request, platform: PlatformDep) -> Response:
    """Where the console's first page leads: a client company's person straight to its own queue; an operator or
    supervisor chooses among the client companies they may see, each with how many payments wait."""
    person = await visitor(request, platform)
    if person is None:
        return to_sign_in()
    principal = person.principal
    if principal.role == "client" and principal.client_slug:
        return RedirectResponse(f"/console/payments/{principal.client_slug}", status_code=303)
    if not principal.has_role("operator"):
        return _refusal(principal, 403, REFUSED_ROLE)
    async with platform.db.transaction() as s:
        clients = await store.suspense_counts(s, scope=principal.client_scope, limit=CLIENTS_SHOWN)
    return page("payments_clients.html", pages=PAGES, clients=clients, layout=person.layout())


@router.get("/{slug}")
async def suspense_page(slug: str, request: Request, platform: PlatformDep,
                        after: Annotated[dt.datetime | None, Query()] = None,
                        after_id: Annotated[uuid.UUID | None, Query()] = None,
                        account: Annotated[str | None, Query(alias="cuenta", max_length=200)] = None) -> Response:
    """The client company's suspense queue, the first received first, fifty at a time (`after` and `after_id` name
    the last row seen), and the payments of the account named in `cuenta`. Operators and supervisors get the
    assignment and the reversal; a client company's own people read only."""
    reader = await client_reader(request, platform, schema=SCHEMA, slug=slug, heading=HEADING,
                                 refused_role=REFUSED_ROLE)
    if not isinstance(reader, ClientReader):
        return reader
    person, client, principal = reader.person, reader.client, reader.person.principal
    since = (after, after_id) if after is not None and after_id is not None and after.tzinfo is not None else None
    found = await handlers.suspense_queue(platform.db, client=slug, after=since, limit=SHOWN + 1)
    shown = found[:SHOWN]
    later = None
    if len(found) > SHOWN:
        last = shown[-1]
        later = f"/console/payments/{slug}?" + urlencode({"after": last.received_at.isoformat(),
                                                         "after_id": str(last.id)})
    account = (account or "").strip() or None
    paid: list[PaidRow] = []
    if account is not None:
        async with platform.db.transaction() as s:
            paid = [_paid(p, client) for p in await store.account_payments(s, slug, account, limit=SHOWN)]
    group, decimal = MARKS.get(client.locale, (".", ","))
    return page("suspense.html", pages=PAGES, slug=slug, client=client.name, rows=[_row(p, client) for p in shown],
                later=later, can_assign=principal.has_role("operator"), account=account, paid=paid,
                group_mark=group, decimal_mark=decimal, locale=client.locale, currency=client.currency,
                amounts=amounts_style(client.currency, client.locale), layout=person.layout())
