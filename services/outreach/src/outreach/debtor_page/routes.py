"""The debtor's page behind the payment link: authenticated by the link's signature, then by the last six
digits of the debtor's ID (under debtor_guard's lockout). HTML in Spanish; not part of the API schema."""

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import jinja2
from babel.numbers import format_decimal
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from outreach import debtor_guard
from outreach.debtor_page import handlers
from outreach.debtor_page.checkout import networks_text
from outreach.debtor_page.handlers import DebtorView
from outreach.domain.offers import PROOF_TTL, Offer, proof_valid
from outreach.domain.offers import proof as make_proof
from outreach.domain.templates import format_day
from outreach.edge import State
from outreach.providers import SendError
from recaudo_common.dependencies import PlatformDep
from recaudo_common.domain_errors import DomainError
from recaudo_common.errors import ProblemError, problem_of
from recaudo_common.money import format_amount
from recaudo_common.page_policy import for_templates
from recaudo_common.promises import latest_promise_date
from recaudo_common.routing import AuthorisedFirstRoute

WEB = Path(__file__).parents[1] / "web"
PAGES = jinja2.Environment(loader=jinja2.FileSystemLoader(WEB), autoescape=True)
HEADERS = for_templates(WEB)

router = APIRouter(route_class=AuthorisedFirstRoute, prefix="/pay", include_in_schema=False)


def page(name: str, status: int = 200, **values: object) -> HTMLResponse:
    return HTMLResponse(PAGES.get_template(name).render(**values), status_code=status, headers=HEADERS)


async def answer(request: Request, make: Callable[[], Awaitable[Response]]) -> Response:
    """A browser gets every refusal as a page in Spanish; an API client gets problem details."""
    try:
        return await make()
    except (ProblemError, DomainError) as e:
        if "text/html" not in request.headers.get("accept", ""):
            raise
        problem = e.problem if isinstance(e, ProblemError) else problem_of(e)
        return page("message.html", problem.status, creditor=None, error=True,
                    message=problem.detail or problem.title)


async def view_or_refuse(token: str, platform: PlatformDep, state: State) -> DebtorView:
    view = await handlers.debtor_view(platform.db, state.settings, token, platform.clock())
    if view is None:
        raise ProblemError(401, "invalid_link", "Invalid link",
                           "Este enlace no es válido o ya venció. Pida uno nuevo a su asesor.")
    return view


def plan_rows(plan: Offer, currency: str, locale: str) -> list[dict[str, object]]:
    """Each instalment of a plan as the page lists it before the debtor confirms: number, date, amount."""
    return [{"number": n, "due": format_day(due, locale), "amount": format_amount(amount, currency, locale)}
            for n, (due, amount) in enumerate(plan.instalments, start=1)]


def offer_cards(view: DebtorView, today: dt.date) -> list[dict[str, object]]:
    """The settlement and the instalment plan the strategy allows, in Spanish and the client's currency format."""
    debtor, locale = view.debtor, view.debtor.locale
    available = handlers.offers_of(view, today)
    cards: list[dict[str, object]] = []
    if (o := available.settlement) is not None:
        money, due = format_amount(o.total, debtor.currency, locale), format_day(o.instalments[0][0], locale)
        cards.append({"kind": o.kind, "title": "Oferta de pago con descuento", "button": "descuento",
                      "description": f"Cancele su obligación pagando {money} ("
                                     f"{format_decimal(o.discount_pct, locale=locale.replace('-', '_'))} % de "
                                     f"descuento) a más tardar el {due}."})
    if (choice := available.plan) is not None:
        options = []
        for count in choice.counts:
            plan = choice.plan(count)
            assert plan is not None
            each = format_amount(plan.instalments[0][1], debtor.currency, locale)
            options.append({"count": count, "label": f"{count} cuotas mensuales de {each}"})
        cards.append({"kind": "instalment_plan", "title": "Acuerdo de pago en cuotas", "options": options,
                      "description": f"Pague {format_amount(choice.balance, debtor.currency, locale)} en "
                                     f"{choice.counts[0]} a {choice.counts[-1]} cuotas mensuales; usted elige "
                                     "cuántas. La primera vence en una semana."})
    return cards


def account_page(view: DebtorView, platform: PlatformDep, state: State, notice: str | None = None,
                 preview: Offer | None = None) -> HTMLResponse:
    debtor, locale = view.debtor, view.debtor.locale
    now = platform.clock()
    today = view.today(now)
    plan = None if preview is None else {
        "count": len(preview.instalments), "rows": plan_rows(preview, debtor.currency, locale),
        "total": format_amount(preview.total, debtor.currency, locale)}
    standing = None if view.plan is None else {
        "settlement": view.plan.kind == "settlement", "count": len(view.plan.instalments),
        "rows": plan_rows(Offer(view.plan.kind, view.plan.instalments), debtor.currency, locale),
        "total": format_amount(view.plan.total, debtor.currency, locale)}
    return page("account.html", creditor=debtor.creditor, debtor_name=debtor.first_name,
                account_ref=view.account_ref, balance=format_amount(debtor.balance, debtor.currency, locale),
                balance_plain=str(debtor.balance), currency=debtor.currency, days_past_due=debtor.days_past_due_at(now),
                account_status=debtor.account_status, offers=offer_cards(view, today), plan=plan, standing=standing,
                token=view.token,
                proof=make_proof(view.token, now + PROOF_TTL, state.settings.link_secret), nonce=uuid.uuid4().hex,
                notice=notice, today=today.isoformat(),
                # the client company's gateways when it has any; else the sandbox gateway where it is on
                pay_online=view.methods.online, can_pay=state.gateway.enabled and not view.methods.any,
                pay_cash=networks_text(view.methods.cash_networks) if view.methods.cash_networks else None,
                channels=[{"channel": c, "name": handlers.CHANNEL_NAMES[c], "opted_out": c in debtor.opted_out
                           or debtor.do_not_contact} for c in handlers.reached_on(view)],
                latest_promise=latest_promise_date(today, debtor.promise_window_days).isoformat())


async def verified_view(token: str, proof: str, platform: PlatformDep, state: State) -> DebtorView:
    """The link's account, once the form proves the identity question was answered (the proof is signed and
    short-lived)."""
    view = await view_or_refuse(token, platform, state)
    if not proof_valid(view.token, proof, state.settings.link_secret, platform.clock()):
        raise ProblemError(401, "not_verified", "Not verified", "answer the identity question first")
    return view


def amount_of(text: str) -> Decimal:
    try:
        value = Decimal(text.strip().replace(",", "."))
    except InvalidOperation as e:
        raise ProblemError(422, "invalid_amount", "Invalid amount", "escriba un valor como 150000.50") from e
    exponent = value.as_tuple().exponent
    if not value.is_finite() or not isinstance(exponent, int) or exponent < -2:
        raise ProblemError(422, "invalid_amount", "Invalid amount", "escriba un valor con hasta dos decimales")
    return value


@router.get("/{token}", response_class=HTMLResponse)
async def landing(token: str, request: Request, platform: PlatformDep, state: State) -> Response:
    async def make() -> HTMLResponse:
        view = await view_or_refuse(token, platform, state)
        return page("verify.html", creditor=view.debtor.creditor, token=token,
                    expires=format_day(view.expires_at.date(), view.debtor.locale))
    return await answer(request, make)


@router.post("/{token}", response_class=HTMLResponse)
async def verify(token: str, request: Request, platform: PlatformDep, state: State,
                 digits: Annotated[str, Form(max_length=20)] = "") -> Response:
    address = request.client.host if request.client is not None else "unknown"

    async def make() -> HTMLResponse:
        view = await view_or_refuse(token, platform, state)
        now = platform.clock()
        checked = await debtor_guard.verify(platform.db, view, digits, source=debtor_guard.source_key(
            address, state.settings.link_secret), now=now)
        if checked.outcome == "verified":
            return account_page(view, platform, state)
        headers: dict[str, str] = {}
        if checked.outcome == "wrong":
            status, error = 403, "Los dígitos no coinciden. Revise e intente de nuevo."
        elif checked.outcome == "blocked":
            status, error = 423, ("Este enlace se bloqueó por demasiados intentos fallidos. Pida uno nuevo a su "
                                  "asesor.")
        else:
            wait = max(1, int(((checked.retry_at or now) - now).total_seconds()))
            minutes = -(-wait // 60)
            status, error = 429, (f"Demasiados intentos. Inténtelo de nuevo en {minutes} "
                                  f"minuto{'s' if minutes != 1 else ''}.")
            headers["Retry-After"] = str(wait)
        answered = page("verify.html", status, creditor=view.debtor.creditor, token=token,
                        expires=format_day(view.expires_at.date(), view.debtor.locale), error=error)
        answered.headers.update(headers)
        return answered
    return await answer(request, make)


@router.post("/{token}/promise", response_class=HTMLResponse)
async def promise(token: str, request: Request, platform: PlatformDep, state: State,
                  proof: Annotated[str, Form(max_length=100)] = "", amount: Annotated[str, Form(max_length=30)] = "",
                  due_date: Annotated[str, Form(max_length=20)] = "") -> Response:
    async def make() -> HTMLResponse:
        view = await verified_view(token, proof, platform, state)
        try:
            day = dt.date.fromisoformat(due_date)
        except ValueError as e:
            raise ProblemError(422, "invalid_date", "Invalid date", "escriba la fecha como AAAA-MM-DD") from e
        value = amount_of(amount)
        await handlers.debtor_promise(platform.db, view, amount=value, due_date=day, now=platform.clock())
        money = format_amount(value, view.debtor.currency, view.debtor.locale)
        return account_page(view, platform, state, f"Gracias. Registramos su compromiso de pagar {money} el "
                                                   f"{format_day(day, view.debtor.locale)}.")
    return await answer(request, make)


def instalments_of(text: str) -> int | None:
    """The number of instalments the debtor chose (none for a settlement)."""
    if not text.strip():
        return None
    if not (text.strip().isascii() and text.strip().isdigit()):
        raise ProblemError(422, "invalid_instalments", "Invalid instalments", "elija el número de cuotas")
    return int(text.strip())


@router.post("/{token}/plan", response_class=HTMLResponse)
async def plan_preview(token: str, request: Request, platform: PlatformDep, state: State,
                       proof: Annotated[str, Form(max_length=100)] = "",
                       instalments: Annotated[str, Form(max_length=3)] = "") -> Response:
    """The plan of the number of instalments the debtor chose, each instalment's date and amount, before the
    debtor confirms it (nothing is asked of payments yet)."""
    async def make() -> HTMLResponse:
        view = await verified_view(token, proof, platform, state)
        count = instalments_of(instalments)
        choice = handlers.offers_of(view, view.today(platform.clock())).plan
        plan = None if choice is None or count is None else choice.plan(count)
        if plan is None:
            raise ProblemError(422, "offer_not_available", "Offer not available",
                               "ese número de cuotas no está disponible para esta obligación")
        return account_page(view, platform, state, preview=plan)
    return await answer(request, make)


@router.post("/{token}/arrangement", response_class=HTMLResponse)
async def arrangement(token: str, request: Request, platform: PlatformDep, state: State,
                      proof: Annotated[str, Form(max_length=100)] = "",
                      offer: Annotated[str, Form(max_length=30)] = "",
                      instalments: Annotated[str, Form(max_length=3)] = "") -> Response:
    async def make() -> HTMLResponse:
        view = await verified_view(token, proof, platform, state)
        accepted = await handlers.debtor_arrangement(platform.db, view, kind=offer,
                                                     instalments=instalments_of(instalments), now=platform.clock())
        money = format_amount(accepted.total, view.debtor.currency, view.debtor.locale)
        what = "del acuerdo" if accepted.kind == "settlement" else f"del plan de {len(accepted.instalments)} cuotas"
        return account_page(view, platform, state,
                            f"Recibimos su aceptación {what} por {money}. Le confirmaremos en breve.")
    return await answer(request, make)


@router.post("/{token}/pay", response_class=HTMLResponse)
async def pay(token: str, request: Request, platform: PlatformDep, state: State,
              proof: Annotated[str, Form(max_length=100)] = "", amount: Annotated[str, Form(max_length=30)] = "",
              nonce: Annotated[str, Form(max_length=64)] = "",
              method: Annotated[str, Form(max_length=10)] = "") -> Response:
    """To the client company's gateway (303 to payments' checkout, with the signed ticket) when it has one; else
    through the sandbox gateway where it is on (development, demos); else refused, saying what the debtor can do."""
    async def make() -> Response:
        view = await verified_view(token, proof, platform, state)
        if view.methods.any:
            location = await handlers.debtor_checkout(
                platform.db, view, amount=amount_of(amount), method=method, nonce=nonce,
                secret=state.settings.link_secret, now=platform.clock())
            return RedirectResponse(location, status_code=303, headers={"cache-control": "no-store",
                                                                        "referrer-policy": "no-referrer"})
        if not state.gateway.enabled:  # production has no sandbox gateway: only the client's own gateways pay
            raise ProblemError(503, "gateway_not_configured", "Payment not available",
                               "El pago en línea no está disponible por ahora. Puede prometer un pago o "
                               "comunicarse con su asesor.")
        value = amount_of(amount)
        try:
            await handlers.debtor_pay(platform.db, state.gateway, view, amount=value,
                                      nonce=nonce or uuid.uuid4().hex, now=platform.clock())
        except SendError as e:
            raise ProblemError(502, "gateway_unavailable", "Payment not completed", e.reason) from e
        money = format_amount(value, view.debtor.currency, view.debtor.locale)
        return page("message.html", creditor=view.debtor.creditor,
                    message=f"Pago recibido por {money}. ¡Gracias! Su saldo se actualizará en unos segundos.")
    return await answer(request, make)


@router.post("/{token}/opt-out", response_class=HTMLResponse)
async def opt_out(token: str, request: Request, platform: PlatformDep, state: State,
                  proof: Annotated[str, Form(max_length=100)] = "",
                  channel: Annotated[str, Form(max_length=20)] = "") -> Response:
    """The debtor's "No deseo recibir mensajes por ...": that channel, at once; again, the same answer."""
    async def make() -> HTMLResponse:
        view = await verified_view(token, proof, platform, state)
        await handlers.debtor_opt_out(platform.db, view, channel=channel, now=platform.clock())
        fresh = await view_or_refuse(token, platform, state)  # the section shows the channel as opted out
        return account_page(fresh, platform, state, f"Listo. No le enviaremos más mensajes por "
                                                    f"{handlers.CHANNEL_NAMES[channel]} de {view.debtor.creditor}.")
    return await answer(request, make)
