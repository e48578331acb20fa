"""The agent desk's routes: the next call for an agent, contacts agents log, and payment links they hand out."""

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from outreach.agent_desk import handlers
from outreach.edge import Settings
from recaudo_common.auth import Principal
from recaudo_common.dependencies import AGENT_DESK, PlatformDep, caller_for_client, caller_with
from recaudo_common.events import Channel
from recaudo_common.routing import AuthorisedFirstRoute

Outcome = Literal["no_answer", "right_party", "third_party", "wrong_number", "refused", "promise_to_pay"]


class PromiseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: Decimal = Field(gt=0, max_digits=16, decimal_places=2)
    due_date: dt.date


class ContactIn(BaseModel):
    """v1: a contact an agent made outside Recaudo, or the outcome of a call handed out by /v1/agent/next."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "channel": "agent", "at": "2026-12-03T10:42:00-05:00", "outcome": "promise_to_pay",
        "promise": {"amount": "150000.00", "due_date": "2026-12-15"},
        "attempt_id": "0f8c2a4e-6b1d-4c3e-9a57-2d8e1f4b7c90"}]})
    channel: Channel
    at: AwareDatetime
    outcome: Outcome
    promise: PromiseIn | None = None
    attempt_id: uuid.UUID | None = Field(None, description="the call /v1/agent/next handed out, if this is its outcome")
    direction: Literal["outbound", "inbound"] = Field(
        "outbound", description="who started it: `outbound`, the agency; `inbound`, the debtor (phoned the agency or "
                                "wrote on WhatsApp), which the contact law does not limit: it counts toward no "
                                "limit and breaks no hours, though a conversation still starts Regulation F's "
                                "seven days without calls")


class ContactOut(BaseModel):
    """v1"""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "5b2e9c71-0d4f-4a36-8e1b-7c9d2f6a3e48", "rule_violations": [],
        "promise_id": "a4c8e2f6-1b3d-4e5f-8a7c-9d0e1f2a3b4c"}]})
    id: uuid.UUID
    rule_violations: list[str]
    promise_id: uuid.UUID | None


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
    assigned_to: str = Field(description="to whom the call was handed: `user <e-mail>` for a signed-in person, "
                                         "`key <id>` for an API key")
    assigned_at: dt.datetime


class AgentNextOut(BaseModel):
    """v1: the call to make now, or null when there is none the law allows now."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"item": {
        "attempt_id": "0f8c2a4e-6b1d-4c3e-9a57-2d8e1f4b7c90", "client": "banco-andino",
        "account_ref": "CR-2024-000187", "debtor_name": "María Gómez Restrepo", "phones": ["+573001234567"],
        "balance": "600000.00", "currency": "COP", "days_past_due": 74, "offer": "none",
        "expected_net_recovery": "290415.00",
        "script": "Guion: saludar a María, confirmar identidad, informar saldo de $600.000,00 (74 días de mora) de la "
                  "obligación CR-2024-000187 con Banco Andino S.A.. Ofrecer el enlace "
                  "https://pagos.recaudo.example/pay/eyJjIjoiYmFuY28tYW5kaW5vIn0.c2lnbmF0dXJh.",
        "assigned_to": "user luis.rojas@agencia.co", "assigned_at": "2026-12-03T10:38:12-05:00"}}]})
    item: AgentCallOut | None


class PaymentLinkOut(BaseModel):
    """v1: a signed, expiring link to the debtor's page (it asks for the last six digits of the ID first)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "url": "https://pagos.recaudo.example/pay/eyJjIjoiYmFuY28tYW5kaW5vIn0.c2lnbmF0dXJh",
        "expires_at": "2026-12-10T23:59:59-05:00"}]})
    url: str
    expires_at: dt.datetime


router = APIRouter(route_class=AuthorisedFirstRoute, prefix="/v1", tags=["outreach"])
DeskAgent = Annotated[Principal, Depends(caller_for_client(AGENT_DESK))]
LinkIssuer = Annotated[Principal, Depends(caller_for_client((*AGENT_DESK, "client")))]
# The desk's next call names its company in the query: the role is checked first, the company once it is read.
DeskStaff = Annotated[Principal, Depends(caller_with(*AGENT_DESK))]


@router.post("/clients/{slug}/accounts/{account_ref}/contacts", response_model=ContactOut, status_code=201)
async def log_contact(slug: str, account_ref: str, body: ContactIn, principal: DeskAgent,
                      platform: PlatformDep, response: Response) -> ContactOut:
    """Logs a contact made outside Recaudo; it counts toward the limits and is flagged if it broke a rule, unless
    the debtor started it (`direction` `inbound`)."""
    logged = await handlers.log_contact(
        platform.db, client=slug, account_ref=account_ref, channel=body.channel, at=body.at, outcome=body.outcome,
        promise=handlers.Promise(body.promise.amount, body.promise.due_date) if body.promise else None,
        attempt_id=body.attempt_id, by=principal.key_id, now=platform.clock(), direction=body.direction)
    # Logged contacts are read in the account's contact history (its `logged` items, by this id).
    response.headers["Location"] = f"/v1/clients/{slug}/accounts/{account_ref}/contacts"
    return ContactOut(id=logged.id, rule_violations=logged.rule_violations, promise_id=logged.promise_id)


@router.post("/clients/{slug}/accounts/{account_ref}/payment-link", response_model=PaymentLinkOut,
             status_code=201)
async def payment_link(slug: str, account_ref: str, principal: LinkIssuer, platform: PlatformDep,
                       settings: Settings, response: Response) -> PaymentLinkOut:
    """A link an agent can hand the debtor by chat or phone; the same kind every message carries."""
    url, expires = await handlers.issue_payment_link(platform.db, settings, client=slug, account_ref=account_ref,
                                                     by_operator=principal.has_role("operator"),
                                                     now=platform.clock())
    response.headers["Location"] = url  # what was made is the link itself
    return PaymentLinkOut(url=url, expires_at=expires)


@router.get("/agent/next", response_model=AgentNextOut)
async def agent_next(principal: DeskStaff, platform: PlatformDep, settings: Settings,
                     client: str = Query(min_length=1, max_length=100)) -> AgentNextOut:
    """Hands the agent the highest expected-value call the law allows now (null when there is none), recording
    who was handed it and when. A person or key limited to some client companies gets 404 for any other."""
    principal.require_client(client, roles=AGENT_DESK)
    chosen = await handlers.next_for_agent(platform.db, settings, client=client,
                                           agent=handlers.Agent(principal.key_id, principal.actor),
                                           now=platform.clock())
    if chosen is None:
        return AgentNextOut(item=None)
    d = chosen.debtor
    return AgentNextOut(item=AgentCallOut(
        attempt_id=chosen.attempt_id, client=client, account_ref=d.account_ref, debtor_name=d.full_name,
        phones=list(d.phones), balance=d.balance, currency=d.currency,
        days_past_due=None if d.days_past_due is None else d.days_past_due_at(platform.clock()), offer=d.offer,
        expected_net_recovery=d.expected_net_recovery, script=chosen.script, assigned_to=chosen.assigned_to,
        assigned_at=chosen.assigned_at))
