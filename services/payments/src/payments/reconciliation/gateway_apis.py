"""What each gateway's documented API reports of a client company's day, read into `Reported` payments: Mercado
Pago's payment search, Stripe's charges, PayU's Reports API per reference, Wompi's transaction per id. A gateway
that cannot be asked, or answers anything not of its documented shape, raises GatewayUnreachable: the report is
`failed`, never a partial clean one."""

# Mercado Pago: GET {api_base_url}/v1/payments/search with `Authorization: Bearer {access_token}`, `range`
#   (date_approved), `begin_date`/`end_date` (ISO 8601), `sort`/`criteria`, paged by `offset`/`limit`; the answer is
#   {"paging": {"total", "limit", "offset"}, "results": [payment, ...]}
#   (https://www.mercadopago.com.co/developers/es/reference/payments/_payments_search/get).
# Stripe: GET {base}/v1/charges with `Authorization: Bearer {secret_key}`, `created[gte]`/`created[lt]` (unix
#   seconds), `limit` (at most 100) and `starting_after` (the last id of the page) while `has_more`
#   (https://docs.stripe.com/api/charges/list, https://docs.stripe.com/api/pagination).
# PayU: no list of a day's payments; its Reports API answers one order by reference: POST
#   https://api.payulatam.com/reports-api/4.0/service.cgi {"test", "language", "command":
#   "ORDER_DETAIL_BY_REFERENCE_CODE", "merchant": {"apiLogin", "apiKey"}, "details": {"referenceCode"}} answering
#   {"code": "SUCCESS", "result": {"payload": [order, ...]}} (https://developers.payulatam.com/latam/es/docs/
#   integrations/api-integration/queries-api.html): every reference PayU notified that day, or applied that day, is
#   asked about.
# Wompi: no documented list of transactions by date was found (https://docs.wompi.co/reference documents the
#   transaction by id): every transaction Wompi notified that day, or applied that day, is asked about by id
#   (GET {base}/v1/transactions/{id}, public), so a payment Wompi never notified at all is not found by this.

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import httpx

from payments.gateways import lookups
from payments.gateways.domain import mercadopago, payu, stripe
from payments.gateways.domain.notifications import MalformedNotification, currency_code, major_units
from payments.gateways.gateway_http import GatewayUnreachable, ask, new_client
from payments.reconciliation.domain import Reported

STRIPE_API = "https://api.stripe.com"
MP_PAGE = 50
STRIPE_PAGE = 100
MAX_PAGES = 400  # 20,000 payments a day at Mercado Pago's page size: beyond that the report fails, never truncates
MAX_ANSWER_BYTES = 4 * 1024**2


def _load(raw: bytes, what: str) -> Any:
    try:
        return json.loads(raw, parse_float=Decimal)
    except (ValueError, RecursionError):
        raise GatewayUnreachable(f"{what} answered something that is not JSON") from None


async def _call(http: httpx.AsyncClient, method: str, url: str, *, what: str, headers: dict[str, str],
                params: httpx.QueryParams | None = None, body: bytes | None = None) -> Any:
    _, raw = await ask(method, url, what=what, headers=headers, params=params, content=body,
                       max_bytes=MAX_ANSWER_BYTES, http=http)
    return _load(raw, what)


def _iso_ms(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


async def mercadopago_day(*, api_base_url: str, access_token: str, start: dt.datetime, end: dt.datetime,
                          timeout_s: float) -> list[Reported]:
    """The account's payments approved in [start, end), every page."""
    what, found = "Mercado Pago's API", list[Reported]()
    headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
    last = end - dt.timedelta(milliseconds=1)  # end_date is inclusive
    async with new_client(timeout_s) as http:
        for page in range(MAX_PAGES):
            params = [("sort", "date_approved"), ("criteria", "asc"), ("range", "date_approved"),
                      ("begin_date", _iso_ms(start)), ("end_date", _iso_ms(last)),
                      ("offset", str(page * MP_PAGE)), ("limit", str(MP_PAGE))]
            answer = await _call(http, "GET", f"{api_base_url.rstrip('/')}/v1/payments/search", what=what,
                                 headers=headers, params=httpx.QueryParams(tuple(params)))
            try:
                results, total = answer["results"], int(answer["paging"]["total"])
                found.extend(_mp_payment(p) for p in results)
            except (KeyError, TypeError, ValueError, MalformedNotification) as e:
                raise GatewayUnreachable(f"{what} answered a search not of its documented shape ({e})") from None
            if not results or (page + 1) * MP_PAGE >= total:
                return found
    raise GatewayUnreachable(f"{what} listed more than {MAX_PAGES} pages")


def _mp_payment(p: dict[str, Any]) -> Reported:
    status = mercadopago.STATUSES.get(str(p["status"]), "pending")
    refunded = p.get("transaction_amount_refunded")
    return Reported(gateway_payment_id=str(p["id"]), status=status,
                    amount=major_units(p["transaction_amount"], "transaction_amount"),
                    currency=currency_code(p.get("currency_id")),
                    refunded=Decimal(0) if refunded is None else major_units(refunded, "transaction_amount_refunded"))


async def stripe_day(*, base_url: str | None, secret_key: str, start: dt.datetime, end: dt.datetime,
                     timeout_s: float) -> list[Reported]:
    """The account's charges created in [start, end), every page, each under its PaymentIntent (the id a
    Checkout Session's payment is applied by)."""
    what, found, after = "Stripe's API", list[Reported](), None
    headers = {"Authorization": f"Bearer {secret_key}", "Accept": "application/json"}
    async with new_client(timeout_s) as http:
        for _ in range(MAX_PAGES):
            params = [("created[gte]", str(int(start.timestamp()))), ("created[lt]", str(int(end.timestamp()))),
                      ("limit", str(STRIPE_PAGE))] + ([("starting_after", after)] if after else [])
            answer = await _call(http, "GET", f"{(base_url or STRIPE_API).rstrip('/')}/v1/charges", what=what,
                                 headers=headers, params=httpx.QueryParams(tuple(params)))
            try:
                data = answer["data"]
                found.extend(_stripe_charge(c) for c in data)
                more = answer["has_more"] is True
                after = str(data[-1]["id"]) if data else None
            except (KeyError, TypeError, ValueError, IndexError, MalformedNotification) as e:
                raise GatewayUnreachable(f"{what} answered a list not of its documented shape ({e})") from None
            if not more or after is None:
                return found
    raise GatewayUnreachable(f"{what} listed more than {MAX_PAGES} pages")


def _stripe_charge(c: dict[str, Any]) -> Reported:
    currency = currency_code(c.get("currency"))
    amount, refunded = stripe.major(int(c["amount"]), currency), stripe.major(int(c["amount_refunded"]), currency)
    state = str(c["status"])
    status = ("refunded" if c.get("refunded") is True else "approved") if state == "succeeded" \
        else "declined" if state == "failed" else "pending"
    return Reported(gateway_payment_id=str(c.get("payment_intent") or c["id"]), status=status, amount=amount,
                    currency=currency, refunded=refunded)


async def payu_orders(*, url: str | None, api_login: str, api_key: str, references: Sequence[str], test: bool,
                      timeout_s: float) -> list[Reported]:
    """Each reference's order as PayU's Reports API answers it (a reference PayU does not know is not reported)."""
    what, found = "PayU's Reports API", list[Reported]()
    async with new_client(timeout_s) as http:
        for reference in references:
            orders = await lookups.payu_orders(url=url, api_login=api_login, api_key=api_key, reference=reference,
                                               test=test, timeout_s=timeout_s, max_bytes=MAX_ANSWER_BYTES, http=http)
            try:
                found.extend(o for o in (_payu_order(reference, order) for order in orders) if o is not None)
            except (KeyError, TypeError, ValueError, AttributeError, MalformedNotification) as e:
                raise GatewayUnreachable(f"{what} answered an order not of its documented shape ({e})") from None
    return found


def _payu_order(reference: str, order: dict[str, Any]) -> Reported | None:
    """An order: approved when a charge of it was (its TX_VALUE), less what its approved refunds gave back."""
    value = payu.order_value(order)
    if value is None:
        return None
    amount, currency = value
    refunded = payu.order_refunded(order, currency)
    status = str(order.get("status"))
    if payu.approved_charges(order):
        shown = "refunded" if status == "REFUNDED" and refunded >= amount else "approved"
    else:
        shown = "declined" if status == "DECLINED" else "voided" if status == "CANCELLED" else "pending"
    return Reported(gateway_payment_id=reference, status=shown, amount=amount, currency=currency, refunded=refunded)


async def wompi_transactions(*, base_url: str, transaction_ids: Sequence[str], timeout_s: float) -> list[Reported]:
    found = []
    for transaction_id in transaction_ids:
        try:
            t = await lookups.wompi_transaction(base_url=base_url, transaction_id=transaction_id, timeout_s=timeout_s)
        except MalformedNotification as e:
            raise GatewayUnreachable(f"Wompi's transaction id {e.detail}") from None
        found.append(Reported(gateway_payment_id=t.payment_id, status=t.status, amount=t.amount, currency=t.currency))
    return found
