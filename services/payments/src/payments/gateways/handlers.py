"""Gateway accounts' handlers: an operator configures a client company's account at a gateway (credentials sealed,
never answered); a notification at the account's webhook is verified by its gateway's own scheme over the raw
bytes, what it did not sign is asked of the gateway's API, and what it says is booked (together.py: plain approvals
in group commits, the rest one at a time by booking.py). A refused notification (forged, or verified and refused
for what it says) is counted in payments' webhook rejections and applies nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import secrets
from collections.abc import Mapping

from prometheus_client import Counter

from payments.checkouts.methods import publish_methods
from payments.gateways import lookups, store
from payments.gateways.booking import Effect
from payments.gateways.domain import mercadopago, payu, stripe, wompi
from payments.gateways.domain.notifications import GatewayPayment, GatewayReversal
from payments.gateways.gateway_http import GatewayUnreachable
from payments.gateways.schemas import (
    GatewayAccountOut,
    GatewayNotificationOut,
    UnconfirmedRefundOut,
)
from payments.gateways.store import GatewayAccount, UnconfirmedRefundKey
from payments.gateways.together import GatewaysTogether
from payments.handlers import refuse_if_future
from payments.settings import PaymentsSettings
from payments.webhooks import record_rejection
from recaudo_common.db import Database
from recaudo_common.domain_errors import Conflict, DomainError, NotFound, NotRecorded
from recaudo_common.ids import WEBHOOK_ID
from recaudo_common.money import CENT
from recaudo_common.personal_data import MasterKeyring
from recaudo_common.short_cache import ShortCache

log = logging.getLogger("recaudo.payments")
NOTIFICATIONS = Counter("recaudo_gateway_notifications_total", "Gateway accounts' notifications by outcome",
                        ["kind", "outcome"])
WEBHOOK_PATH = "/v1/webhooks/gateways/{webhook_id}"


def webhook_url(public_url: str, webhook_id: str) -> str:
    """Where the gateway sends this account's notifications: the platform's public URL and an id nobody guesses
    (the gateway's signature authenticates a notification; the id finds the account and keeps strangers out)."""
    return public_url.rstrip("/") + WEBHOOK_PATH.format(webhook_id=webhook_id)


def account_out(public_url: str, account: GatewayAccount) -> GatewayAccountOut:
    optional = {"wompi": "private_key", "payu": "api_login", "stripe": "secret_key"}.get(account.kind)
    return GatewayAccountOut(
        name=account.name, kind=account.kind,
        webhook_url=webhook_url(public_url, account.webhook_id), created_at=account.created_at,
        updated_at=account.updated_at, **account.settings,
        **({f"{optional}_set": account.optional_secret(optional) is not None} if optional else {}))


async def configure(db: Database, keyring: MasterKeyring, *, client: str, name: str, given: dict[str, str | None],
                    now: dt.datetime) -> tuple[bool, GatewayAccount]:
    """Creates or replaces the account (its webhook id kept from the first time); (created, the account)."""
    kind = str(given["kind"])
    settings = {k: str(given[k]) for k in store.SETTING_NAMES[kind]}
    sealed = {k: v for k in store.SECRET_NAMES[kind] if (v := given.get(k)) is not None}
    async with db.transaction() as s:
        put = await store.put_account(s, keyring, client=client, name=name, kind=kind, settings=settings,
                                      secrets=sealed, webhook_id=secrets.token_urlsafe(24), now=now)
        if put is None:
            raise Conflict("gateway_kind_changed", f"{name!r} is an account at another gateway; give the new one "
                                                   "another name")
        account = await store.account_of(s, keyring, client, name)
        # The debtor page offers only the ways to pay the client company's accounts now allow.
        await publish_methods(s, keyring, client=client, now=now)
    assert account is not None
    return put[0], account


async def configuration(db: Database, keyring: MasterKeyring, *, client: str, name: str) -> GatewayAccount:
    async with db.transaction() as s:
        account = await store.account_of(s, keyring, client, name)
    if account is None:
        raise NotFound(f"gateway account {name!r}")
    return account


# The accounts by webhook id as each notification reads them, kept for a few seconds per process: a gateway's burst
# would otherwise hold a connection of its own per notification for the read (the gateways benchmark saw the pool
# open and close connections for them). A change made through this process is seen at once; through another, within
# ACCOUNT_TTL_S.
ACCOUNT_TTL_S = 5.0
AccountsByWebhook = ShortCache[str, GatewayAccount | None]


async def account_of_webhook(db: Database, keyring: MasterKeyring, webhook_id: str,
                             accounts: AccountsByWebhook | None = None) -> GatewayAccount:
    """The account a webhook URL's opaque id names (404 before any of the body is read), through `accounts`."""

    async def read() -> GatewayAccount | None:
        async with db.transaction() as s:
            return await store.account_of_webhook(s, keyring, webhook_id)

    if not WEBHOOK_ID.fullmatch(webhook_id):
        raise NotFound("webhook")
    account = await (read() if accounts is None else accounts.get(webhook_id, read))
    if account is None:
        raise NotFound("webhook")
    return account


@dataclasses.dataclass(frozen=True)
class Delivery:
    """A notification as it came: its raw bytes and the headers and query parameters its gateway signs with."""

    raw: bytes
    headers: Mapping[str, str]
    query: Mapping[str, str]
    source: str | None


async def receive(db: Database, settings: PaymentsSettings, *, account: GatewayAccount, delivery: Delivery,
                  booking: GatewaysTogether, now: dt.datetime) -> GatewayNotificationOut:
    """Verifies and books a notification. Raises UnverifiedNotification (the route answers 401), another domain
    error such as MalformedNotification or paid_at_in_future (422), each counted among the webhook rejections with
    nothing applied, or GatewayUnreachable while the gateway's API cannot say what the notification did not sign (the
    route answers 503 so the gateway retries; nothing recorded)."""
    try:
        effect = await _verified(settings, account, delivery, now=now)
        if effect is None:
            NOTIFICATIONS.labels(account.kind, "ignored").inc()
            return GatewayNotificationOut(status="ignored")
        if isinstance(effect, GatewayPayment) and effect.status == "approved" and effect.occurred_at is not None:
            refuse_if_future(effect.occurred_at, now)  # refused and recorded; the gateway sends it again later
        outcome = await booking.book(account=account, effect=effect, now=now)
    except GatewayUnreachable as e:
        # An operator's to look at when it lasts (a revoked access token answers 401 for every notification).
        NOTIFICATIONS.labels(account.kind, "unreachable").inc()
        log.warning("gateway API unavailable", extra={"fields": {"gateway": account.ledger_key, "reason": str(e)}})
        raise
    except DomainError as e:
        # Forged, or verified and refused for what it says (a body of another shape): either way a refused webhook,
        # recorded where operators read them (sizes and a hash, no content), as the generic webhook's are. A failure
        # to record (NotRecorded, 5xx, sent again) is no refusal.
        if not isinstance(e, NotRecorded):
            NOTIFICATIONS.labels(account.kind, "refused").inc()
            await record_rejection(db, gateway=account.ledger_key, reason=e.code, source=delivery.source,
                                   raw=delivery.raw, signature=_signature_header(account.kind, delivery), now=now,
                                   max_rows=settings.webhook_rejection_rows)
        raise
    NOTIFICATIONS.labels(account.kind, outcome.status).inc()
    return outcome


SIGNATURE_HEADERS = {"wompi": "x-event-checksum", "mercadopago": "x-signature", "stripe": "stripe-signature"}


def _signature_header(kind: str, delivery: Delivery) -> str | None:
    header = SIGNATURE_HEADERS.get(kind)
    return delivery.headers.get(header) if header else None


async def _verified(settings: PaymentsSettings, account: GatewayAccount, delivery: Delivery, *,
                    now: dt.datetime) -> Effect | None:
    """What the notification says once its gateway's scheme verifies it (None: nothing a collection reads)."""
    raw, headers, timeout_s = delivery.raw, delivery.headers, settings.gateway_api_timeout_s
    if account.kind == "wompi":
        event = wompi.read_event(raw, events_secret=account.secret("events_secret"),
                                 checksum_header=headers.get("x-event-checksum"))
        payment = event.payment
        if payment is not None and not {"reference", "currency"} <= payment.authenticated:
            # The checksum does not cover where the money goes or its currency: Wompi's API says both.
            base = lookups.wompi_base_url(account.settings["public_key"], settings.wompi_api_base_url)
            payment = await lookups.wompi_transaction(base_url=base, transaction_id=payment.payment_id,
                                                      timeout_s=timeout_s)
        return payment
    if account.kind == "mercadopago":
        notice = mercadopago.verify_notification(
            x_signature=headers.get("x-signature"), x_request_id=headers.get("x-request-id"),
            data_id=delivery.query.get("data.id"), secrets=[account.secret("webhook_secret")])
        if mercadopago.read_notification(raw).topic != "payment":
            return None  # merchant orders, subscriptions...: no payment of ours to book
        return await lookups.mercadopago_payment(api_base_url=account.settings["api_base_url"],
                                                 access_token=account.secret("access_token"),
                                                 data_id=notice.data_id, timeout_s=timeout_s)
    if account.kind == "payu":
        confirmed = payu.read_confirmation(raw, api_key=account.secret("api_key"),
                                           merchant_id=account.settings["merchant_id"])
        # sign covers reference_sale, not transaction_id: the signed reference (unique per order at PayU) is the
        # payment's id here, so a replay under a new transaction_id is the same payment.
        if isinstance(confirmed, payu.RefundClaim):
            return await _payu_refund(settings, account, confirmed)
        assert confirmed.reference is not None  # a signed field: verify_confirmation refused it missing
        # The transaction is kept as the attempt: a second approval of the reference under another transaction_id
        # is money PayU took twice for one order (booking sends it to suspense).
        return dataclasses.replace(confirmed, payment_id=confirmed.reference, attempt_id=confirmed.payment_id)
    event_ = stripe.read_event(raw, headers.get("stripe-signature"), secrets=[account.secret("webhook_secret")],
                               now=now)
    return event_.effect


async def _payu_refund(settings: PaymentsSettings, account: GatewayAccount,
                       claim: payu.RefundClaim) -> GatewayReversal | payu.RefundClaim | None:
    """A PayU refund confirmation: its REFUNDED is not signed (a declined attempt's body says it as well), so what
    PayU's Reports API shows refunded of the reference in all is taken back, booked as a cumulative total (only what
    is not taken back yet; a redelivery or a forgery of an older one takes nothing more). Without the API login
    nothing can be asked: the claim is kept for an operator. Nothing shown refunded: None (ignored)."""
    api_login = account.optional_secret("api_login")
    if api_login is None:
        return claim
    refunded = await lookups.payu_refunded(url=settings.payu_reports_api_url, api_login=api_login,
                                           api_key=account.secret("api_key"), reference=claim.reference,
                                           currency=claim.currency, timeout_s=settings.gateway_api_timeout_s)
    if refunded <= 0:
        log.warning("PayU refund confirmation not shown by the Reports API",
                    extra={"fields": {"gateway": account.ledger_key}})
        return None
    if refunded == refunded.quantize(CENT):
        refunded = refunded.quantize(CENT)  # one id per total however PayU writes it (10000.0, 10000.00)
    return GatewayReversal(gateway="payu", reversal_id=f"{claim.reference}:refunded:{refunded}",
                           refers_to=claim.reference, kind="refunded", amount=refunded, currency=claim.currency,
                           cumulative=True, gateway_status=f"6/{payu.REFUNDED}")


async def unconfirmed_refunds(db: Database, keyring: MasterKeyring, *, client: str, name: str,
                              after: UnconfirmedRefundKey | None, limit: int) -> list[UnconfirmedRefundOut]:
    """The refunds the account's notifications claimed and nobody could confirm, the most recent first, those after
    `after`."""
    async with db.transaction() as s:
        account = await store.account_of(s, keyring, client, name)
        if account is None:
            raise NotFound(f"gateway account {name!r}")
        found = await store.unconfirmed_refunds(s, account.ledger_key, after=after, limit=limit)
    return [UnconfirmedRefundOut.model_validate(u, from_attributes=True) for u in found]

