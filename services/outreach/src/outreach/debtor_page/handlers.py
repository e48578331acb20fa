"""The debtor page behind a payment link: the account it shows, and what the debtor may do there (promise a
payment within the client company's promise window, accept an offer, pay through the sandbox gateway); the
answers payments gives to the arrangements asked for join the audit trail."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from outreach import store
from outreach.consent.handlers import opt_out_debtor
from outreach.debtor_page import checkout, plans
from outreach.debtor_page.checkout import PaymentMethods
from outreach.debtor_page.plans import StandingPlan
from outreach.debtors import DebtorContext
from outreach.domain.offers import Offer, Offers, offers
from outreach.providers import SandboxGateway
from outreach.settings import OutreachSettings
from outreach.store import TrailEntry, outbox
from recaudo_common.accounts import is_open
from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.client_copy import get_client
from recaudo_common.clock import local_today
from recaudo_common.db import Database
from recaudo_common.domain_errors import Conflict, Invalid
from recaudo_common.events import ArrangementDeclined, ArrangementMade, ArrangementRequested, Instalment, PromiseMade
from recaudo_common.instalments import ArrangementLimits
from recaudo_common.money import fits_minor_units, minor_units
from recaudo_common.payment_links import read_token
from recaudo_common.promises import latest_promise_date, within_promise_window


@dataclass(frozen=True)
class DebtorView:
    """The account a valid payment link opens, as the page shows it."""

    token: str
    client: str
    account_ref: str
    expires_at: dt.datetime
    debtor: DebtorContext
    limits: ArrangementLimits  # the client company's: the largest discount, how many instalments
    plan: StandingPlan | None = None  # the arrangement the account stands under, if any
    methods: PaymentMethods = checkout.NONE  # the client company's gateway accounts' ways to pay

    def today(self, now: dt.datetime) -> dt.date:
        """The client company's local day: the one promises and offers are dated from."""
        today: dt.date = local_today(self.debtor.timezone, now)
        return today

    def trail(self, now: dt.datetime, kind: str, **detail: object) -> TrailEntry:
        return TrailEntry(self.client, self.account_ref, now, kind, detail=detail)

    def require_open(self) -> None:
        """Only an open account is paid, promised or arranged from its page: a paid, settled or recalled one shows
        that it has nothing to collect, and a form sent to it (an old tab, a crafted request) is refused."""
        if not is_open(self.debtor.account_status):
            raise Conflict("account_not_open", "esta obligación no tiene saldo por cobrar con nosotros")


async def debtor_view(db: Database, settings: OutreachSettings, token: str, now: dt.datetime) -> DebtorView | None:
    """The account behind a payment link, or None when the link is forged, expired or unknown."""
    target = read_token(token, secret=settings.link_secret, now=now)
    if target is None:
        return None
    async with db.transaction() as s:
        debtor = await store.contact_context(s, target.client, target.account_ref, now)
        copy = await get_client(s, store.SCHEMA, target.client)
        plan = await plans.standing(s, target.client, target.account_ref)
        methods = await checkout.methods_of(s, target.client)
    if debtor is None or copy is None:
        return None
    return DebtorView(token, target.client, target.account_ref, target.expires_at, debtor, copy.limits, plan,
                      methods)


def offers_of(view: DebtorView, today: dt.date) -> Offers:
    """The offers the page shows today: the treatment's, on the current balance, within the client's limits; under
    an arrangement in force, paying only (another arrangement is not offered)."""
    found = offers(view.debtor.offer, view.debtor.offer_discount_pct, view.debtor.balance, today, view.limits,
                   view.debtor.currency)
    return found if view.plan is None else Offers(found.full, None, None)


def in_minor_units(amount: Decimal, currency: str) -> None:
    """Refuses an amount with decimals its currency does not have (1000.50 CLP), as payments refuses such a payment:
    a promise nobody can pay, or a charge no gateway can make."""
    if not fits_minor_units(amount, currency):
        raise Invalid("amount_not_in_minor_units", f"los montos en {currency} son enteros: escriba el valor sin "
                      "decimales" if minor_units(currency) == 0 else
                      f"el {currency} tiene {minor_units(currency)} decimales: escriba el valor con no más de ellos",
                      title="Invalid amount")


async def debtor_promise(db: Database, view: DebtorView, *, amount: Decimal, due_date: dt.date,
                         now: dt.datetime) -> uuid.UUID:
    """A promise to pay within the client company's promise window, from its local today."""
    view.require_open()
    today = view.today(now)
    if not 0 < amount <= view.debtor.balance:
        raise Invalid("invalid_promise", "el valor debe ser positivo y no mayor al saldo", title="Invalid promise")
    in_minor_units(amount, view.debtor.currency)  # 1000.50 CLP: a promise nobody can pay
    window = view.debtor.promise_window_days
    if not within_promise_window(due_date, today=today, window_days=window):
        raise Invalid("invalid_promise", f"la fecha debe estar entre hoy y los próximos {window} días "
                      f"(a más tardar el {latest_promise_date(today, window).isoformat()})", title="Invalid promise")
    promise_id = uuid.uuid4()
    async with db.transaction() as s:
        await store.trail(s, [view.trail(now, "page_promise", promise_id=str(promise_id), amount=str(amount),
                                         due_date=due_date.isoformat())])
        await outbox.add(s, [PromiseMade(promise_id=promise_id, account_ref=view.account_ref, amount=amount,
                                         due_date=due_date, source="debtor_page", made_at=now).envelope(
            client=view.client, occurred_at=now)])
    return promise_id


async def debtor_arrangement(db: Database, view: DebtorView, *, kind: str, instalments: int | None = None,
                             now: dt.datetime) -> Offer:
    """One of the offers the page shows today (a plan with the number of instalments the debtor chose), asked of
    payments (which answers with arrangement.made or declined)."""
    view.require_open()
    if view.plan is not None:
        raise Conflict("arrangement_exists", "ya tiene un acuerdo de pago vigente")
    offer = offers_of(view, view.today(now)).chosen(kind, instalments)
    if offer is None:
        raise Invalid("offer_not_available", "esta oferta ya no está disponible", title="Offer not available")
    request_id = uuid.uuid4()
    async with db.transaction() as s:
        await store.trail(s, [view.trail(now, "page_arrangement_requested", request_id=str(request_id),
                                         arrangement_kind=kind, total=str(offer.total),
                                         instalments=len(offer.instalments))])
        await outbox.add(s, [ArrangementRequested(
            request_id=request_id, account_ref=view.account_ref, kind=kind,
            instalments=[Instalment(due_date=d, amount=a) for d, a in offer.instalments],
            requested_at=now).envelope(client=view.client, occurred_at=now)])
    return offer


async def debtor_pay(db: Database, gateway: SandboxGateway, view: DebtorView, *, amount: Decimal, nonce: str,
                     now: dt.datetime) -> str:
    """Pays through the sandbox gateway, which notifies payments with a signed webhook like a real gateway;
    the form's nonce makes a double submit one payment."""
    view.require_open()
    if not 0 < amount <= view.debtor.balance:
        raise Invalid("invalid_amount", "el valor debe ser positivo y no mayor al saldo", title="Invalid amount")
    in_minor_units(amount, view.debtor.currency)
    payment_id = f"sbx-{uuid.uuid5(uuid.NAMESPACE_URL, f'{view.token}:{nonce}')}"
    status = await gateway.charge(payment_id=payment_id, client=view.client, link_token=view.token, amount=amount,
                                  currency=view.debtor.currency, now=now)
    async with db.transaction() as s:
        await store.trail(s, [view.trail(now, "page_payment", payment_id=payment_id, amount=str(amount),
                                         gateway_status=status)])
    return status


async def debtor_checkout(db: Database, view: DebtorView, *, amount: Decimal, method: str, nonce: str,
                          secret: str, now: dt.datetime) -> str:
    """Where the verified debtor's browser goes to pay `amount` by `method` at the client company's gateway:
    payments' `/checkout/{ticket}`. Not more than the balance (an overpayment would only be refunded, and an extra
    zero typed by mistake is the likelier cause); the page's one-time nonce makes a double submit one checkout."""
    view.require_open()
    chosen = checkout.method_of(method, view.methods)
    if not 0 < amount <= view.debtor.balance:
        raise Invalid("invalid_amount", "el valor debe ser positivo y no mayor al saldo", title="Invalid amount")
    in_minor_units(amount, view.debtor.currency)
    nonce = nonce or uuid.uuid4().hex
    async with db.transaction() as s:
        await store.trail(s, [view.trail(now, "page_checkout", amount=str(amount), method=chosen, nonce=nonce)])
    return checkout.checkout_path(client=view.client, account_ref=view.account_ref, link_token=view.token,
                                  amount=amount, currency=view.debtor.currency, method=chosen, nonce=nonce,
                                  secret=secret, now=now)


# How the page names each channel in "No deseo recibir mensajes por ...".
CHANNEL_NAMES = {"sms": "SMS", "email": "correo electrónico", "whatsapp": "WhatsApp", "voice": "llamada automática",
                 "agent": "llamada de un asesor", "letter": "carta"}


def reached_on(view: DebtorView) -> list[str]:
    """The channels the account is reached on (those its client company's file authorises), in the page's
    order; the debtor may opt out of each one."""
    return [c for c in CHANNEL_NAMES if c in view.debtor.authorised_channels]


async def debtor_opt_out(db: Database, view: DebtorView, *, channel: str, now: dt.datetime) -> bool:
    """The debtor, verified on the page, opts out of one channel: as any opt-out (consent_handlers.opt_out_debtor:
    every account of the debtor at the client company, consent evidence of source debtor_page, the trail,
    contact.opted_out, what was still to be sent on that channel cancelled). The evidence is this request's id,
    kept in the trail. False when the debtor had already opted out (nothing more is recorded)."""
    if channel not in reached_on(view):
        raise Invalid("channel_not_reached", "no le escribimos por ese medio", title="Channel not used")
    if channel in view.debtor.opted_out or view.debtor.do_not_contact:
        return False
    request_id = uuid.uuid4()
    async with db.transaction() as s:
        await store.trail(s, [TrailEntry(view.client, view.account_ref, now, "page_opt_out", None, channel,
                                         {"request_id": str(request_id)})])
        await opt_out_debtor(s, view.client, view.debtor.debtor_id, channel, source="debtor_page",
                             evidence=request_id, now=now)
    return True


async def on_arrangement_answer(event: ArrangementMade | ArrangementDeclined, ctx: HandlerContext) -> None:
    """The debtor page's arrangement requests are answered by payments; the answer joins the audit trail, and an
    arrangement made (by the page or an operator) is what the page shows while it stands."""
    client, now = ctx.envelope.client, ctx.now
    if isinstance(event, ArrangementMade):
        await plans.record_made(ctx.session, client, event)  # the page shows it, whoever agreed it
        if event.source == "debtor_page":
            await store.trail(ctx.session, [TrailEntry(client, event.account_ref, now, "arrangement_made", detail={
                "arrangement_kind": event.kind, "total_amount": str(event.total_amount)})])
    else:
        await store.trail(ctx.session, [TrailEntry(client, event.account_ref, now, "arrangement_declined",
                                                   detail={"reason": event.reason})])
