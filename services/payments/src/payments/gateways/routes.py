"""Gateway accounts' routes: an operator's configuration of a client company's account at Wompi, Mercado Pago,
PayU or Stripe (no secret is ever answered), and the account's webhook, where the gateway's notifications arrive
exactly as it sends them (no API key: its own signature over the raw body)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from payments.api import ClientOfCaller, ClientOfOperator, PaymentsState, Settings, get_state
from payments.gateways import handlers
from payments.gateways.domain.notifications import UnverifiedNotification
from payments.gateways.gateway_http import GatewayUnreachable
from payments.gateways.schemas import (
    NAME,
    GatewayAccountIn,
    GatewayAccountOut,
    GatewayNotificationOut,
    UnconfirmedRefundList,
)
from recaudo_common.dependencies import PlatformDep
from recaudo_common.errors import ProblemError
from recaudo_common.gate import SIGNED_BODY_BYTES
from recaudo_common.pagination import PageRequest, cursor_str, cursor_time, invalid_cursor, page_request
from recaudo_common.personal_data import MasterKeyring
from recaudo_common.routing import AuthorisedFirstRoute
from recaudo_common.settings import not_https

router = APIRouter(route_class=AuthorisedFirstRoute, prefix="/v1", tags=["payments"])


async def get_keyring(settings: Settings) -> MasterKeyring:
    return MasterKeyring.of_settings(settings)


Keyring = Annotated[MasterKeyring, Depends(get_keyring)]
State = Annotated[PaymentsState, Depends(get_state)]
AccountName = Annotated[str, Path(pattern=NAME, max_length=63, description="the client company's label for it")]


# The examples' secrets are placeholders, never real ones.
GATEWAY_EXAMPLES = {"requestBody": {"content": {"application/json": {"examples": {
    "wompi": {"summary": "an account at Wompi (Colombia)", "value": {
        "kind": "wompi", "events_secret": "test_events_ejemplo123", "integrity_secret": "test_integrity_ejemplo456",
        "public_key": "pub_test_Q5yDA9xoKdePzhSGeVe9HAez7HgGORGf"}},
    "mercadopago": {"summary": "an account at Mercado Pago", "value": {
        "kind": "mercadopago", "access_token": "APP_USR-token-de-ejemplo", "webhook_secret": "secreto-de-ejemplo"}},
    "payu": {"summary": "an account at PayU Latam", "value": {
        "kind": "payu", "api_key": "llave-api-de-ejemplo", "merchant_id": "508029", "account_id": "512321"}}}}}}}


@router.put("/clients/{slug}/gateways/{name}", response_model=GatewayAccountOut,
            responses={201: {"model": GatewayAccountOut, "description": "configured for the first time"}},
            openapi_extra=GATEWAY_EXAMPLES)
async def put_gateway(name: AccountName, body: GatewayAccountIn, client: ClientOfOperator, platform: PlatformDep,
                      settings: Settings, keyring: Keyring, state: State, response: Response) -> GatewayAccountOut:
    """Configures one of the client company's gateway accounts (201 the first time, 200 after); the answer has
    the webhook URL to give the gateway and says which optional credentials are set, never what any secret is.
    Notifications use the new credentials at once on this server, within 5 seconds on every other."""
    base_url = getattr(body, "api_base_url", None)
    if settings.production and (wrong := not_https(base_url)):
        raise ProblemError(422, "insecure_api_url", "Invalid gateway account", f"the API base URL {wrong}")
    given = {k: None if v is None else str(v) for k, v in body.model_dump().items()}
    created, account = await handlers.configure(platform.db, keyring, client=client.slug, name=name, given=given,
                                                now=platform.clock())
    state.gateway_accounts.forget(account.webhook_id)  # its next notification here reads the new credentials
    response.status_code = 201 if created else 200
    if created:
        response.headers["Location"] = f"/v1/clients/{client.slug}/gateways/{name}"
    return handlers.account_out(platform.settings.public_url, account)


@router.get("/clients/{slug}/gateways/{name}", response_model=GatewayAccountOut)
async def get_gateway(name: AccountName, client: ClientOfCaller, platform: PlatformDep,
                      keyring: Keyring) -> GatewayAccountOut:
    """The gateway account without any secret."""
    account = await handlers.configuration(platform.db, keyring, client=client.slug, name=name)
    return handlers.account_out(platform.settings.public_url, account)


RefundPaging = Annotated[PageRequest, page_request(default=100, maximum=500)]


@router.get("/clients/{slug}/gateways/{name}/refunds/unconfirmed", response_model=UnconfirmedRefundList,
            responses={404: {"description": "no such gateway account"}})
async def get_unconfirmed_refunds(name: AccountName, client: ClientOfOperator, platform: PlatformDep,
                                  keyring: Keyring, paging: RefundPaging, response: Response) -> UnconfirmedRefundList:
    """Refunds the gateway's notifications claimed that its API could not confirm (a PayU account without its API
    login): nothing was taken back for them; check each at the gateway and reverse it by hand if it is real. The most
    recently sent first; follow `next`."""
    key = paging.key(4)
    after = None if key is None else (cursor_time(key[0]), cursor_str(key[1]), _amount(key[2]), cursor_str(key[3]))
    found = await handlers.unconfirmed_refunds(platform.db, keyring, client=client.slug, name=name, after=after,
                                               limit=paging.limit + 1)
    page = paging.page(found, lambda u: (u.last_seen.isoformat(), u.reference, str(u.amount), u.currency), response)
    return UnconfirmedRefundList(items=page.items, next=page.next)


def _amount(value: str | int | None) -> Decimal:
    try:
        amount = Decimal(cursor_str(value))
    except ArithmeticError:
        raise invalid_cursor() from None
    if not amount.is_finite():
        raise invalid_cursor()
    return amount


async def read_capped(request: Request, limit: int) -> bytes:
    """The raw body, refused past `limit` bytes as it streams (the door caps it too)."""
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise ProblemError(413, "payload_too_large", "Request too large", f"the body may be at most {limit} bytes")
    return bytes(body)


@router.post("/webhooks/gateways/{webhook_id}", response_model=GatewayNotificationOut,
             responses={401: {"description": "not signed by the gateway (or, for Stripe, stale): nothing applied, "
                                             "the refusal counted among the webhook rejections"},
                        404: {"description": "no gateway account has this webhook"},
                        503: {"description": "the gateway's API cannot be asked now: send it again"}})
async def gateway_notification(webhook_id: str, request: Request, platform: PlatformDep, settings: Settings,
                               keyring: Keyring, state: State) -> GatewayNotificationOut:
    """A gateway's notification as it sends it (200 once recorded: Wompi and PayU take nothing else)."""
    account = await handlers.account_of_webhook(platform.db, keyring, webhook_id, state.gateway_accounts)
    delivery = handlers.Delivery(raw=await read_capped(request, SIGNED_BODY_BYTES), headers=request.headers,
                                 query=request.query_params, source=request.client.host if request.client else None)
    try:
        return await handlers.receive(platform.db, settings, account=account, delivery=delivery,
                                      booking=state.gateway_notifications, now=platform.clock())
    except UnverifiedNotification as e:
        raise ProblemError(401, e.code, "Notification refused", f"{e.detail}; nothing was applied") from None
    except GatewayUnreachable as e:
        raise ProblemError(503, "gateway_unreachable", "Gateway unreachable",
                           f"{e}; nothing was applied, send it again later") from None
