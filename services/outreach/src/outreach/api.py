"""Outreach's HTTP API: the compliance check, the contact log and history export, legal holds, do-not-contact,
contact rules, templates, the agent queue, providers' receipts, and the debtor page."""


import csv
import datetime as dt
import io
import json
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal

import jinja2
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from outreach import debtor_guard, handlers, store
from outreach.domain.contact_law import RulesError, stricter_rules
from outreach.domain.offers import PROOF_TTL, offers, proof_valid
from outreach.domain.offers import proof as make_proof
from outreach.domain.templates import (
    DEFAULT_LOCALE,
    LOCALES,
    VARIABLES,
    Rendered,
    Template,
    TemplateError,
    TemplateTooExpensive,
    default_template,
    format_day,
    format_money,
    offer_text,
)
from outreach.providers import Providers, Receipt, SandboxGateway, SendError
from outreach.rendering import preview_before_saving, render_message
from outreach.settings import OutreachSettings
from recaudo_common.auth import Principal
from recaudo_common.client_copy import get_client
from recaudo_common.clock import local_today
from recaudo_common.errors import ProblemError, not_found
from recaudo_common.events import Channel
from recaudo_common.exports import neutralise
from recaudo_common.promises import latest_promise_date
from recaudo_common.runtime import Platform
from recaudo_common.webhook_signatures import signature_problem

Hold = Literal["dispute", "deceased", "insolvency", "litigation"]
Outcome = Literal["no_answer", "right_party", "third_party", "wrong_number", "refused", "promise_to_pay"]
PAGES = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "web"), autoescape=True)


class ComplianceCheckIn(BaseModel):
    """v1"""

    model_config = ConfigDict(extra="forbid")
    client: str = Field(min_length=1, max_length=100)
    account_ref: str = Field(min_length=1, max_length=200)
    channel: Channel
    at: AwareDatetime = Field(description="timezone-aware instant of the intended contact")


class ComplianceCheckOut(BaseModel):
    """v1"""

    allowed: bool
    reasons: list[str]
    next_allowed_at: dt.datetime | None
    debtor_local_time: dt.datetime


class PromiseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: Decimal = Field(gt=0, max_digits=16, decimal_places=2)
    due_date: dt.date


class ContactIn(BaseModel):
    """v1: a contact an agent made outside Recaudo, or the outcome of a call handed out by /v1/agent/next."""

    model_config = ConfigDict(extra="forbid")
    channel: Channel
    at: AwareDatetime
    outcome: Outcome
    promise: PromiseIn | None = None
    attempt_id: uuid.UUID | None = Field(None, description="the call /v1/agent/next handed out, if this is its outcome")


class ContactOut(BaseModel):
    """v1"""

    id: uuid.UUID
    rule_violations: list[str]
    promise_id: uuid.UUID | None


class DecisionOut(BaseModel):
    decided_at: dt.datetime
    allowed: bool
    reasons: list[str]
    next_allowed_at: dt.datetime | None
    local_time: str


class AttemptOut(BaseModel):
    """v1: one contact attempt and every compliance decision taken on it."""

    id: uuid.UUID
    channel: str
    status: str
    scheduled_at: dt.datetime
    sent_at: dt.datetime | None
    delivered_at: dt.datetime | None = None
    failed_at: dt.datetime | None = None
    failure: str | None = None
    cancel_reason: str | None
    created_at: dt.datetime
    provider: str | None = None
    template: str | None = None
    encoding: str | None = None
    segments: int | None = None
    decisions: list[DecisionOut]


class LoggedContactOut(BaseModel):
    id: uuid.UUID
    channel: str
    at: dt.datetime
    outcome: str | None
    rule_violations: list[str]


class TrailEntryOut(BaseModel):
    id: int
    at: dt.datetime
    kind: str
    attempt_id: uuid.UUID | None
    channel: str | None
    detail: dict[str, Any]


class LegalHoldOut(BaseModel):
    hold: str
    note: str | None
    set_at: dt.datetime
    lifted_at: dt.datetime | None


class ContactHistoryOut(BaseModel):
    """v1: an account's whole contact history: attempts with their decisions, contacts logged by agents, legal
    holds, and the append-only audit trail."""

    account_ref: str
    items: list[AttemptOut]
    logged: list[LoggedContactOut]
    legal_holds: list[LegalHoldOut]
    trail: list[TrailEntryOut]


class LegalHoldIn(BaseModel):
    """v1"""

    model_config = ConfigDict(extra="forbid")
    hold: Hold
    note: str | None = Field(None, max_length=1000)


class LegalHoldSetOut(BaseModel):
    status: Literal["set", "already_set"]
    hold: Hold


class DoNotContactIn(BaseModel):
    """v1"""

    model_config = ConfigDict(extra="forbid")
    debtor_id: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=500)


class DoNotContactOut(BaseModel):
    accounts: int


class ContactRulesIn(BaseModel):
    """v1: a client company's stricter contact rules (the law's are the floor)."""

    model_config = ConfigDict(extra="forbid")
    windows: dict[str, tuple[str, str] | None] | None = Field(
        None, description='weekday (mon..sun) -> ["HH:MM", "HH:MM"], or null for a closed day')
    daily_limit: int | None = None
    calls_in_7_days: int | None = None
    one_channel_per_week: bool | None = None


class ContactRulesOut(BaseModel):
    client: str
    country: str
    override: dict[str, Any]
    windows: dict[str, tuple[str, str] | None]
    no_holidays: bool
    daily_limit: int | None
    one_channel_per_week: bool
    calls_in_7_days: int | None
    days_after_conversation: int | None
    opt_out_line: bool


class TemplateIn(BaseModel):
    """v1"""

    model_config = ConfigDict(extra="forbid")
    subject: str | None = Field(None, max_length=500)
    body: str = Field(min_length=1, max_length=20_000)


class PreviewOut(BaseModel):
    subject: str | None
    body: str
    encoding: str | None
    segments: int | None


class PreviewProblemOut(BaseModel):
    code: str = Field(description="invalid_template or template_too_expensive")
    detail: str


class TemplateOut(BaseModel):
    """v1: a template and its rendering for a sample account (SMS parts shown before anything is sent). A stored
    template that no longer renders has no preview but a `preview_problem` saying why."""

    channel: Channel
    locale: str
    source: Literal["client", "default"]
    version: int | None
    subject: str | None
    body: str
    variables: dict[str, str]
    preview: PreviewOut | None
    preview_problem: PreviewProblemOut | None = None


class TemplateList(BaseModel):
    items: list[TemplateOut]


class AgentCallOut(BaseModel):
    """v1: the call an agent should make now, with what they need to make it."""

    attempt_id: uuid.UUID
    client: str
    account_ref: str
    debtor_name: str
    phones: list[str]
    balance: Decimal
    currency: str
    days_past_due: int | None
    offer: str | None
    expected_net_recovery: Decimal | None
    script: str


class AgentNextOut(BaseModel):
    item: AgentCallOut | None


class PaymentLinkOut(BaseModel):
    """v1: a signed, expiring link to the debtor's page (it asks for the last six digits of the ID first)."""

    url: str
    expires_at: dt.datetime


class ReceiptsOut(BaseModel):
    applied: int
    duplicate: int
    unknown: int


class SandboxReceiptIn(BaseModel):
    """v1: what the sandbox provider reports: a status for a message, or a debtor's reply."""

    model_config = ConfigDict(extra="forbid")
    message_id: str = Field(min_length=1, max_length=200)
    status: Literal["delivered", "failed", "reply"]
    detail: str | None = Field(None, max_length=2000)
    reply_from: str | None = Field(None, max_length=320)
    channel: Literal["sms", "whatsapp", "email"] | None = None


SAMPLE = {"creditor": "Banco Ejemplo", "debtor_name": "María", "account_ref": "OBL-000123",
          "balance": Decimal("1234567.89"), "days_past_due": 45}


def _rules_out(slug: str, country: str, override: dict[str, Any] | None) -> ContactRulesOut:
    rules = stricter_rules(country, override)
    names = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return ContactRulesOut(
        client=slug, country=country, override=override or {},
        windows={n: ((w.start.strftime("%H:%M"), w.end.strftime("%H:%M")) if (w := rules.windows.get(i)) else None)
                 for i, n in enumerate(names)},
        no_holidays=rules.no_holidays, daily_limit=rules.daily_limit, one_channel_per_week=rules.one_channel_per_week,
        calls_in_7_days=rules.calls_in_7_days, days_after_conversation=rules.days_after_conversation,
        opt_out_line=rules.opt_out_line)


def build_router(platform: Platform, providers: Providers, settings: OutreachSettings,
                 gateway: SandboxGateway) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["outreach"])
    Auth = Annotated[Principal, Depends(platform.auth)]
    db = platform.db

    async def client_or_404(slug: str) -> Any:
        async with db.transaction() as s:
            client = await get_client(s, store.SCHEMA, slug)
        if client is None:
            raise not_found(f"client company {slug!r}")
        return client

    @router.post("/compliance/check", response_model=ComplianceCheckOut)
    async def compliance_check(body: ComplianceCheckIn, principal: Auth) -> ComplianceCheckOut:
        """May this account's debtor be contacted on this channel at `at`? For agents' dialers."""
        principal.require_client(body.client)
        decision = await handlers.check(db, client=body.client, account_ref=body.account_ref, channel=body.channel,
                                        at=body.at)
        return ComplianceCheckOut(allowed=decision.allowed, reasons=list(decision.reasons),
                                  next_allowed_at=decision.next_allowed_at, debtor_local_time=decision.local_time)

    @router.get("/clients/{slug}/accounts/{account_ref}/contacts", response_model=ContactHistoryOut,
                responses={200: {"content": {"text/csv": {}}}})
    async def contacts(slug: str, account_ref: str, principal: Auth,
                       format: Literal["json", "csv"] = "json") -> Any:
        """The account's whole contact history; `format=csv` gives the audit trail as a spreadsheet."""
        principal.require_client(slug)
        async with db.transaction() as s:
            if await store.get_account(s, slug, account_ref) is None:
                raise not_found(f"account {account_ref!r}")
            attempts = await store.contact_history(s, slug, account_ref)
            logged = await store.logged_contacts(s, slug, account_ref)
            holds = await store.legal_holds(s, slug, account_ref)
            trail = await store.account_trail(s, slug, account_ref)
        for t in trail:
            t["detail"] = handlers._json(t["detail"])
        if format == "csv":
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(["id", "at", "kind", "channel", "attempt_id", "detail"])
            for t in trail:
                writer.writerow([t["id"], t["at"].isoformat(), t["kind"], t["channel"] or "", t["attempt_id"] or "",
                                 neutralise(json.dumps(t["detail"], ensure_ascii=False, sort_keys=True))])
            return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
                "content-disposition": f'attachment; filename="contacts-{slug}-{account_ref}.csv"'})
        for a in attempts:
            a["decisions"] = handlers._json(a["decisions"])
        return ContactHistoryOut(account_ref=account_ref, items=[AttemptOut.model_validate(a) for a in attempts],
                                 logged=[LoggedContactOut.model_validate(c) for c in logged],
                                 legal_holds=[LegalHoldOut.model_validate(h) for h in holds],
                                 trail=[TrailEntryOut.model_validate(t) for t in trail])

    @router.post("/clients/{slug}/accounts/{account_ref}/contacts", response_model=ContactOut, status_code=201)
    async def log_contact(slug: str, account_ref: str, body: ContactIn, principal: Auth) -> ContactOut:
        """Logs a contact made outside Recaudo; it counts toward the limits and is flagged if it broke a rule."""
        principal.require_client(slug, roles=("operator",))
        result = await handlers.log_contact(
            db, client=slug, account_ref=account_ref, channel=body.channel, at=body.at, outcome=body.outcome,
            promise=(body.promise.amount, body.promise.due_date) if body.promise else None,
            attempt_id=body.attempt_id, by=principal.key_id, now=platform.clock())
        return ContactOut.model_validate(result)

    @router.post("/clients/{slug}/accounts/{account_ref}/legal-holds", response_model=LegalHoldSetOut,
                 status_code=201)
    async def set_hold(slug: str, account_ref: str, body: LegalHoldIn, principal: Auth) -> LegalHoldSetOut:
        """Stops all contact with the account at once, until the hold is lifted."""
        principal.require_client(slug, roles=("operator",))
        created = await handlers.set_legal_hold(db, client=slug, account_ref=account_ref, hold=body.hold,
                                                note=body.note, by=principal.key_id, now=platform.clock())
        return LegalHoldSetOut(status="set" if created else "already_set", hold=body.hold)

    @router.delete("/clients/{slug}/accounts/{account_ref}/legal-holds/{hold}", status_code=204)
    async def lift_hold(slug: str, account_ref: str, hold: Hold, principal: Auth) -> Response:
        principal.require_client(slug, roles=("operator",))
        await handlers.lift_legal_hold(db, client=slug, account_ref=account_ref, hold=hold, by=principal.key_id,
                                       now=platform.clock())
        return Response(status_code=204)

    @router.post("/clients/{slug}/do-not-contact", response_model=DoNotContactOut, status_code=201)
    async def do_not_contact(slug: str, body: DoNotContactIn, principal: Auth) -> DoNotContactOut:
        """Puts a debtor on the client company's do-not-contact list: every channel, every account, for good."""
        principal.require_client(slug)
        await client_or_404(slug)
        refs = await handlers.add_do_not_contact(db, client=slug, debtor_id=body.debtor_id, reason=body.reason,
                                                 by=principal.key_id, now=platform.clock())
        return DoNotContactOut(accounts=len(refs))

    @router.get("/clients/{slug}/contact-rules", response_model=ContactRulesOut)
    async def get_rules(slug: str, principal: Auth) -> ContactRulesOut:
        principal.require_client(slug)
        client = await client_or_404(slug)
        async with db.transaction() as s:
            override = await store.get_client_rules(s, slug)
        return _rules_out(slug, client.country, override)

    @router.put("/clients/{slug}/contact-rules", response_model=ContactRulesOut)
    async def put_rules(slug: str, body: ContactRulesIn, principal: Auth) -> ContactRulesOut:
        """Sets the client company's stricter rules; a rule looser than the law is refused."""
        principal.require_client(slug, roles=("operator",))
        client = await client_or_404(slug)
        override = body.model_dump(exclude_none=True)
        try:
            stricter_rules(client.country, override)
        except RulesError as e:
            raise ProblemError(422, "rules_looser_than_law", "Invalid contact rules", str(e)) from e
        async with db.transaction() as s:
            await store.put_client_rules(s, slug, override, platform.clock())
        return _rules_out(slug, client.country, override)

    def sample(client: Any, locale: str) -> dict[str, Any]:
        """The sample account every preview renders (no debtor's data)."""
        balance = Decimal(str(SAMPLE["balance"]))
        return {"creditor": client.name, "debtor_name": str(SAMPLE["debtor_name"]),
                "account_ref": str(SAMPLE["account_ref"]), "balance": balance, "currency": client.currency,
                "days_past_due": int(str(SAMPLE["days_past_due"])),
                # An unknown locale is refused by the validation that runs first; the sample must not fail on it.
                "offer": offer_text("settlement", Decimal(20), balance, client.currency,
                                    locale if locale in LOCALES else DEFAULT_LOCALE),
                "payment_link": f"{settings.public_url.rstrip('/')}/pay/EJEMPLO",
                "link_expires": (platform.clock() + dt.timedelta(days=settings.link_ttl_days)).date()}

    def template_answer(template: Template, own: dict[str, Any] | None, rendered: Rendered | None,
                        problem: TemplateError | None = None) -> TemplateOut:
        return TemplateOut(
            channel=template.channel, locale=template.locale, source="client" if own else "default",
            version=own["version"] if own else None, subject=template.subject, body=template.body,
            variables=VARIABLES,
            preview=PreviewOut(subject=rendered.subject, body=rendered.body, encoding=rendered.encoding,
                               segments=rendered.segments) if rendered else None,
            preview_problem=PreviewProblemOut(code=problem.code, detail=str(problem)) if problem else None)

    async def template_out(client: Any, channel: str, locale: str, own: dict[str, Any] | None) -> TemplateOut:
        """A stored template whose preview fails (saved before saves were checked, or failing since) is shown
        with the reason instead of a preview: a read never fails because of one template."""
        template = Template(channel, locale, own["subject"], own["body"]) if own else default_template(channel, locale)
        try:
            rendered = await render_message(template, settings, **sample(client, locale),
                                            opt_out_required=stricter_rules(client.country, None).opt_out_line)
        except TemplateError as e:
            return template_answer(template, own, None, e)
        return template_answer(template, own, rendered)

    @router.get("/clients/{slug}/templates", response_model=TemplateList)
    async def list_templates(slug: str, principal: Auth) -> TemplateList:
        """Every channel's template in the client company's locale, and any other locale it has its own for."""
        principal.require_client(slug)
        client = await client_or_404(slug)
        async with db.transaction() as s:
            own = {(t["channel"], t["locale"]): t for t in await store.list_templates(s, slug)}
        keys = sorted({(c, client.locale) for c in ("sms", "email", "whatsapp", "voice", "agent", "letter")} | set(own))
        return TemplateList(items=[await template_out(client, c, loc, own.get((c, loc))) for c, loc in keys])

    @router.get("/clients/{slug}/templates/{channel}/{locale}", response_model=TemplateOut)
    async def get_template(slug: str, channel: Channel, locale: str, principal: Auth) -> TemplateOut:
        principal.require_client(slug)
        client = await client_or_404(slug)
        if locale not in LOCALES:
            raise not_found(f"locale {locale!r}")
        async with db.transaction() as s:
            own = await store.get_template(s, slug, channel, locale)
        return await template_out(client, channel, locale, own)

    @router.put("/clients/{slug}/templates/{channel}/{locale}", response_model=TemplateOut)
    async def put_template(slug: str, channel: Channel, locale: str, body: TemplateIn,
                           principal: Auth) -> TemplateOut:
        """Saves the client company's template once it has passed, before anything is stored: syntax, known
        variables, the opt-out line where the law asks for it, and its rendering on a sample account within the
        render budget (`template_too_expensive` otherwise). The answer shows the rendering and its SMS parts."""
        principal.require_client(slug)
        client = await client_or_404(slug)
        template = Template(channel, locale, body.subject, body.body)
        try:
            rendered = await preview_before_saving(template, settings, **sample(client, locale),
                                                   opt_out_required=stricter_rules(client.country, None).opt_out_line)
        except TemplateError as e:
            raise ProblemError(422, e.code, "Template too expensive" if isinstance(e, TemplateTooExpensive)
                               else "Invalid template", str(e)) from e
        async with db.transaction() as s:
            await store.put_template(s, client=slug, channel=channel, locale=locale, subject=body.subject,
                                     body=body.body, now=platform.clock())
            own = await store.get_template(s, slug, channel, locale)
        return template_answer(template, own, rendered)

    @router.post("/clients/{slug}/accounts/{account_ref}/payment-link", response_model=PaymentLinkOut,
                 status_code=201)
    async def payment_link(slug: str, account_ref: str, principal: Auth) -> PaymentLinkOut:
        """A link an agent can hand the debtor by chat or phone; the same kind every message carries."""
        principal.require_client(slug)
        now = platform.clock()
        async with db.transaction() as s:
            if await store.get_account(s, slug, account_ref) is None:
                raise not_found(f"account {account_ref!r}")
            url, expires = handlers.Renderer(s, settings, now).link(slug, account_ref)
            if principal.role == "operator":  # an operator's new link lifts the page's lockout
                await debtor_guard.reissue(s, slug, account_ref)
        return PaymentLinkOut(url=url, expires_at=expires)

    @router.get("/agent/next", response_model=AgentNextOut)
    async def agent_next(principal: Auth, client: str = Query(min_length=1, max_length=100)) -> AgentNextOut:
        """Hands the agent the highest expected-value call the law allows now (null when there is none)."""
        principal.require_client(client, roles=("operator",))
        chosen = await handlers.next_for_agent(db, settings, client=client, now=platform.clock())
        if chosen is None:
            return AgentNextOut(item=None)
        return AgentNextOut(item=AgentCallOut(
            attempt_id=chosen["attempt_id"], client=client, account_ref=chosen["account_ref"],
            debtor_name=chosen["full_name"], phones=list(chosen["phones"]), balance=chosen["balance"],
            currency=chosen["currency"], days_past_due=chosen["days_past_due"], offer=chosen["offer"],
            expected_net_recovery=chosen["expected_net_recovery"], script=chosen["script"]))

    @router.post("/webhooks/outreach/{provider}", response_model=ReceiptsOut,
                 responses={401: {"description": "missing or wrong signature; nothing was applied"}})
    async def receipts(provider: str, request: Request) -> ReceiptsOut:
        """Delivery receipts and replies from a provider, authenticated by the provider's signature."""
        raw = await request.body()
        now = platform.clock()
        parsed: list[Receipt] | None
        if provider == "twilio" and providers.twilio is not None:
            form = {k: str(v) for k, v in (await request.form()).items()}
            # The URL Twilio called, query included: the signature covers it (and the attempt id it carries).
            query = request.url.query
            url = settings.public_url.rstrip("/") + f"/v1/webhooks/outreach/{provider}" + (f"?{query}" if query else "")
            parsed = providers.twilio.receipts(url, request.headers.get("x-twilio-signature"), form)
        elif provider == "sandbox" and providers.sandbox_on:  # in production a sandbox receipt could forge opt-outs
            if signature_problem(request.headers.get("recaudo-signature"), raw, [settings.sandbox_gateway_secret],
                                 now=now):
                parsed = None
            else:
                try:
                    body = SandboxReceiptIn.model_validate_json(raw)
                except ValueError as e:
                    raise ProblemError(422, "invalid_receipt", "Invalid receipt", str(e)[:500]) from e
                parsed = [Receipt(body.message_id, body.status, body.detail, body.reply_from, body.channel)]
        else:
            raise ProblemError(401, "unknown_provider", "Webhook refused", f"no provider {provider!r} is configured")
        if parsed is None:
            raise ProblemError(401, "bad_signature", "Webhook refused", "the signature does not verify")
        return ReceiptsOut(**await handlers.apply_receipts(db, provider, parsed, now=now))

    return router


def build_debtor_page(platform: Platform, settings: OutreachSettings, gateway: SandboxGateway) -> APIRouter:
    """The debtor's page behind the payment link: authenticated by the link's signature, then by the last six
    digits of the debtor's ID (under debtor_guard's lockout). HTML in Spanish; not part of the API schema."""
    router = APIRouter(prefix="/pay", include_in_schema=False)
    db = platform.db

    def page(name: str, status: int = 200, **values: Any) -> HTMLResponse:
        return HTMLResponse(PAGES.get_template(name).render(**values), status_code=status,
                            headers={"cache-control": "no-store", "x-frame-options": "DENY",
                                     "referrer-policy": "no-referrer"})

    async def view_or_refuse(token: str) -> handlers.DebtorView:
        view = await handlers.debtor_view(db, settings, token, platform.clock())
        if view is None:
            raise ProblemError(401, "invalid_link", "Invalid link",
                               "Este enlace no es válido o ya venció. Pida uno nuevo a su asesor.")
        return view

    async def answer(request: Request, make: Callable[[], Awaitable[HTMLResponse]]) -> Response:
        """A browser gets every refusal as a page in Spanish; an API client gets problem details."""
        try:
            return await make()
        except ProblemError as e:
            if "text/html" not in request.headers.get("accept", ""):
                raise
            return page("message.html", e.problem.status, creditor=None, error=True,
                        message=e.problem.detail or e.problem.title)

    def today_of(view: handlers.DebtorView) -> dt.date:
        today: dt.date = local_today(str(view.row["timezone"]), platform.clock())
        return today

    def account_page(view: handlers.DebtorView, notice: str | None = None) -> HTMLResponse:
        row, locale = view.row, view.row["locale"]
        balance = Decimal(row["balance"])
        today = today_of(view)
        cards = []
        for o in offers(row["offer"], row["offer_discount_pct"], balance, today):
            money = format_money(o.total, row["currency"], locale)
            if o.kind == "settlement":
                due = format_day(o.instalments[0][0], locale)
                cards.append({"kind": o.kind, "title": "Oferta de pago con descuento", "button": "descuento",
                              "description": f"Cancele su obligación pagando {money} a más tardar el {due}."})
            else:
                each = format_money(o.instalments[0][1], row["currency"], locale)
                cards.append({"kind": o.kind, "title": "Acuerdo de pago en cuotas", "button": "acuerdo",
                              "description": f"{len(o.instalments)} cuotas mensuales de {each} (total {money}); "
                                             f"la primera vence el {format_day(o.instalments[0][0], locale)}."})
        until = platform.clock() + PROOF_TTL
        return page("account.html", creditor=row["creditor"], debtor_name=handlers.first_name(row["full_name"]),
                    account_ref=view.account_ref, balance=format_money(balance, row["currency"], locale),
                    balance_plain=str(balance), currency=row["currency"], days_past_due=row["days_past_due"] or 0,
                    account_status=row["account_status"], offers=cards, token=view.token,
                    proof=make_proof(view.token, until, settings.link_secret), nonce=uuid.uuid4().hex, notice=notice,
                    can_pay=gateway.enabled,
                    today=today.isoformat(),
                    latest_promise=latest_promise_date(today, row["promise_window_days"]).isoformat())

    def require_proof(view: handlers.DebtorView, value: str) -> None:
        if not proof_valid(view.token, value, settings.link_secret, platform.clock()):
            raise ProblemError(401, "not_verified", "Not verified", "answer the identity question first")

    @router.get("/{token}", response_class=HTMLResponse)
    async def landing(token: str, request: Request) -> Response:
        async def make() -> HTMLResponse:
            view = await view_or_refuse(token)
            return page("verify.html", creditor=view.row["creditor"], token=token,
                        expires=format_day(view.expires_at.date(), view.row["locale"]))
        return await answer(request, make)

    @router.post("/{token}", response_class=HTMLResponse)
    async def verify(token: str, request: Request, digits: Annotated[str, Form(max_length=20)] = "") -> Response:
        address = request.client.host if request.client is not None else "unknown"
        return await answer(request, lambda: _verify(token, digits, address))

    async def _verify(token: str, digits: str, address: str) -> HTMLResponse:
        view = await view_or_refuse(token)
        now = platform.clock()
        checked = await debtor_guard.verify(db, view, digits, source=debtor_guard.source_key(
            address, settings.link_secret), now=now)
        if checked.outcome == "verified":
            return account_page(view)
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
        answered = page("verify.html", status, creditor=view.row["creditor"], token=token,
                        expires=format_day(view.expires_at.date(), view.row["locale"]), error=error)
        answered.headers.update(headers)
        return answered

    def amount_of(text: str) -> Decimal:
        try:
            value = Decimal(text.strip().replace(",", "."))
        except InvalidOperation as e:
            raise ProblemError(422, "invalid_amount", "Invalid amount", "escriba un valor como 150000.50") from e
        if not value.is_finite() or value.as_tuple().exponent < -2:  # type: ignore[operator]
            raise ProblemError(422, "invalid_amount", "Invalid amount", "escriba un valor con hasta dos decimales")
        return value

    @router.post("/{token}/promise", response_class=HTMLResponse)
    async def promise(token: str, request: Request, proof: Annotated[str, Form(max_length=100)] = "",
                      amount: Annotated[str, Form(max_length=30)] = "",
                      due_date: Annotated[str, Form(max_length=20)] = "") -> Response:
        return await answer(request, lambda: _promise(token, proof, amount, due_date))

    async def _promise(token: str, proof: str, amount: str, due_date: str) -> HTMLResponse:
        view = await view_or_refuse(token)
        require_proof(view, proof)
        try:
            day = dt.date.fromisoformat(due_date)
        except ValueError as e:
            raise ProblemError(422, "invalid_date", "Invalid date", "escriba la fecha como AAAA-MM-DD") from e
        value = amount_of(amount)
        await handlers.debtor_promise(db, view, amount=value, due_date=day, today=today_of(view),
                                      now=platform.clock())
        money = format_money(value, view.row["currency"], view.row["locale"])
        return account_page(view, f"Gracias. Registramos su compromiso de pagar {money} el "
                                  f"{format_day(day, view.row['locale'])}.")

    @router.post("/{token}/arrangement", response_class=HTMLResponse)
    async def arrangement(token: str, request: Request, proof: Annotated[str, Form(max_length=100)] = "",
                          offer: Annotated[str, Form(max_length=30)] = "") -> Response:
        return await answer(request, lambda: _arrangement(token, proof, offer))

    async def _arrangement(token: str, proof: str, offer: str) -> HTMLResponse:
        view = await view_or_refuse(token)
        require_proof(view, proof)
        accepted = await handlers.debtor_arrangement(db, view, kind=offer, today=today_of(view), now=platform.clock())
        money = format_money(accepted.total, view.row["currency"], view.row["locale"])
        return account_page(view, f"Recibimos su aceptación del acuerdo por {money}. Le confirmaremos en breve.")

    @router.post("/{token}/pay", response_class=HTMLResponse)
    async def pay(token: str, request: Request, proof: Annotated[str, Form(max_length=100)] = "",
                  amount: Annotated[str, Form(max_length=30)] = "",
                  nonce: Annotated[str, Form(max_length=64)] = "") -> Response:
        return await answer(request, lambda: _pay(token, proof, amount, nonce))

    async def _pay(token: str, proof: str, amount: str, nonce: str) -> HTMLResponse:
        view = await view_or_refuse(token)
        require_proof(view, proof)
        if not gateway.enabled:  # production has no sandbox gateway, and no real one behind this page yet
            raise ProblemError(503, "gateway_not_configured", "Payment not available",
                               "El pago en línea no está disponible por ahora. Puede prometer un pago o "
                               "comunicarse con su asesor.")
        value = amount_of(amount)
        try:
            await handlers.debtor_pay(db, gateway, view, amount=value, nonce=nonce or uuid.uuid4().hex,
                                      now=platform.clock())
        except SendError as e:
            raise ProblemError(502, "gateway_unavailable", "Payment not completed", e.reason) from e
        money = format_money(value, view.row["currency"], view.row["locale"])
        return page("message.html", creditor=view.row["creditor"],
                    message=f"Pago recibido por {money}. ¡Gracias! Su saldo se actualizará en unos segundos.")

    return router
