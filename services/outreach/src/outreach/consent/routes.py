"""Consent's routes: the compliance check for agents' dialers, legal holds, the do-not-contact list, a client
company's stricter contact rules, and an account's consent evidence."""

import datetime as dt
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from outreach.consent import handlers
from outreach.consent.store import RecordedConsent
from outreach.domain.client_rules import RulesOverride
from outreach.domain.consent import Source, What, states_of
from outreach.domain.contact_law import CountryRules
from outreach.edge import ClientOfCaller, ClientOfOperator
from recaudo_common.auth import Principal
from recaudo_common.dependencies import (
    OPERATOR_ONLY,
    CurrentPrincipal,
    OperatorOrClient,
    PlatformDep,
    caller_for_client,
)
from recaudo_common.events import Channel
from recaudo_common.preconditions import IfMatchHeader
from recaudo_common.routing import AuthorisedFirstRoute

Hold = Literal["dispute", "deceased", "insolvency", "litigation"]


class ComplianceCheckIn(BaseModel):
    """v1"""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "client": "banco-andino", "account_ref": "CR-2024-000187", "channel": "voice",
        "at": "2026-12-04T19:30:00-05:00"}]})
    client: str = Field(min_length=1, max_length=100)
    account_ref: str = Field(min_length=1, max_length=200)
    channel: Channel
    at: AwareDatetime = Field(description="timezone-aware instant of the intended contact")


class ComplianceCheckOut(BaseModel):
    """v1"""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "allowed": False, "reasons": ["outside_hours"], "next_allowed_at": "2026-12-05T08:00:00-05:00",
        "debtor_local_time": "2026-12-04T19:30:00-05:00"}]})
    allowed: bool
    reasons: list[str] = Field(description="why not: the contact law's codes (`outside_hours`, `daily_limit`, "
                                           "`opted_out`, ...), after a collection hold's (`promise_pending`, "
                                           "`arrangement_standing`) when one holds the account")
    next_allowed_at: dt.datetime | None
    debtor_local_time: dt.datetime


class LegalHoldIn(BaseModel):
    """v1"""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "hold": "dispute", "note": "El deudor reclama ante la Superintendencia Financiera (queja 2026-4471)"}]})
    hold: Hold
    note: str | None = Field(None, max_length=1000)


class LegalHoldSetOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "set", "hold": "dispute"}]})
    status: Literal["set", "already_set"]
    hold: Hold


class DoNotContactIn(BaseModel):
    """v1"""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "debtor_id": "1032456789", "reason": "Solicitó por escrito no ser contactado (derecho de supresión)"}]})
    debtor_id: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=500)


class DoNotContactOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"accounts": 2}]})
    accounts: int


class ContactRulesIn(BaseModel):
    """v1: a client company's stricter contact rules (the law's are the floor)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "windows": {"mon": ["08:00", "18:00"], "tue": ["08:00", "18:00"], "wed": ["08:00", "18:00"],
                    "thu": ["08:00", "18:00"], "fri": ["08:00", "18:00"], "sat": ["09:00", "13:00"]},
        "daily_limit": 1, "calls_in_7_days": 2, "one_channel_per_week": True}]})
    windows: dict[str, tuple[str, str] | None] | None = Field(
        None, description='weekday (mon..sun) -> ["HH:MM", "HH:MM"], or null for a closed day')
    daily_limit: int | None = None
    calls_in_7_days: int | None = None
    one_channel_per_week: bool | None = None


class ContactRulesOut(BaseModel):
    """v1: the client company's own rules (`override`, as set) and the rules in force: the stricter of them and its
    country's law, field by field."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "client": "banco-andino", "country": "CO",
        "override": {"windows": {"mon": ["08:00", "18:00"], "tue": ["08:00", "18:00"], "wed": ["08:00", "18:00"],
                                 "thu": ["08:00", "18:00"], "fri": ["08:00", "18:00"], "sat": ["09:00", "13:00"]},
                     "daily_limit": 1, "calls_in_7_days": 2, "one_channel_per_week": True},
        "windows": {"mon": ["08:00", "18:00"], "tue": ["08:00", "18:00"], "wed": ["08:00", "18:00"],
                    "thu": ["08:00", "18:00"], "fri": ["08:00", "18:00"], "sat": ["09:00", "13:00"], "sun": None},
        "no_holidays": True, "daily_limit": 1, "one_channel_per_week": True, "calls_in_7_days": 2,
        "days_after_conversation": None, "opt_out_line": True}]})
    client: str
    country: str
    override: dict[str, object]
    windows: dict[str, tuple[str, str] | None]
    no_holidays: bool
    daily_limit: int | None
    one_channel_per_week: bool
    calls_in_7_days: int | None
    days_after_conversation: int | None
    opt_out_line: bool

    @classmethod
    def of(cls, slug: str, country: str, override: RulesOverride | None, rules: CountryRules) -> "ContactRulesOut":
        names = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        return cls(
            client=slug, country=country, override=override.document() if override else {},
            windows={n: ((w.start.strftime("%H:%M"), w.end.strftime("%H:%M")) if (w := rules.windows.get(i))
                         else None) for i, n in enumerate(names)},
            no_holidays=rules.no_holidays, daily_limit=rules.daily_limit,
            one_channel_per_week=rules.one_channel_per_week, calls_in_7_days=rules.calls_in_7_days,
            days_after_conversation=rules.days_after_conversation, opt_out_line=rules.opt_out_line)


class ConsentEvidenceOut(BaseModel):
    """v1: one piece of consent evidence, as recorded (the record is append-only)."""

    id: int = Field(description="its place in the record")
    channel: str
    what: What
    source: Source
    recorded_at: dt.datetime
    evidence: uuid.UUID = Field(description="a reference, never a contact point: the portfolio of the client's "
                                            "file (client_file), the attempt a reply answered (reply), the "
                                            "operator's key (operator)")
    text_version: str | None = Field(description="the name and version of the text accepted, when there is one")


class ChannelConsentOut(BaseModel):
    """v1: a channel's consent now."""

    channel: str
    state: What
    since: dt.datetime
    source: Source


class ConsentsOut(BaseModel):
    """v1: an account's consent per channel and the evidence it rests on, in the order it was recorded."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "client": "banco-andino", "account_ref": "CR-2024-000187",
        "channels": [
            {"channel": "email", "state": "withdrawn", "since": "2026-11-18T10:02:31-05:00", "source": "unsubscribe"},
            {"channel": "sms", "state": "granted", "since": "2026-09-01T08:16:47-05:00", "source": "client_file"}],
        "evidence": [
            {"id": 51207, "channel": "email", "what": "granted", "source": "client_file",
             "recorded_at": "2026-09-01T08:16:47-05:00", "evidence": "5c2e8a1f-3d7b-4e9c-b6a0-8f4d2e1c7b53",
             "text_version": None},
            {"id": 51208, "channel": "sms", "what": "granted", "source": "client_file",
             "recorded_at": "2026-09-01T08:16:47-05:00", "evidence": "5c2e8a1f-3d7b-4e9c-b6a0-8f4d2e1c7b53",
             "text_version": None},
            {"id": 68934, "channel": "email", "what": "withdrawn", "source": "unsubscribe",
             "recorded_at": "2026-11-18T10:02:31-05:00", "evidence": "e7b3d1f9-2c4a-4b8e-9d6f-1a3c5e7b9d20",
             "text_version": None}]}]})

    client: str
    account_ref: str
    channels: list[ChannelConsentOut]
    evidence: list[ConsentEvidenceOut]

    @classmethod
    def of(cls, client: str, account_ref: str, record: list[RecordedConsent]) -> "ConsentsOut":
        states = states_of((r.change, r.recorded_at) for r in record)
        return cls(
            client=client, account_ref=account_ref,
            channels=[ChannelConsentOut(channel=channel, state=state.what, since=state.since, source=state.source)
                      for channel, state in sorted(states.items())],
            evidence=[ConsentEvidenceOut(id=r.id, channel=r.change.channel, what=r.change.what,
                                         source=r.change.source, recorded_at=r.recorded_at,
                                         evidence=r.change.evidence, text_version=r.change.text_version)
                      for r in record])


router = APIRouter(route_class=AuthorisedFirstRoute, prefix="/v1", tags=["outreach"])
HoldKeeper = Annotated[Principal, Depends(caller_for_client(OPERATOR_ONLY))]


@router.post("/compliance/check", response_model=ComplianceCheckOut)
async def compliance_check(body: ComplianceCheckIn, principal: OperatorOrClient,
                           platform: PlatformDep) -> ComplianceCheckOut:
    """May this account's debtor be contacted on this channel at `at`? For agents' dialers. Not allowed while a
    promise to pay on the account is pending or an arrangement stands on it (reasons `promise_pending`,
    `arrangement_standing` first; `next_allowed_at` the first instant the law allows once the hold ends), as the
    scheduler and the agent desk decide."""
    principal.require_client(body.client)
    decision = await handlers.check(platform.db, client=body.client, account_ref=body.account_ref,
                                    channel=body.channel, at=body.at)
    return ComplianceCheckOut(allowed=decision.allowed, reasons=list(decision.reasons),
                              next_allowed_at=decision.next_allowed_at, debtor_local_time=decision.local_time)


@router.post("/clients/{slug}/accounts/{account_ref}/legal-holds", response_model=LegalHoldSetOut,
             status_code=201)
async def set_hold(slug: str, account_ref: str, body: LegalHoldIn, principal: HoldKeeper,
                   platform: PlatformDep, response: Response) -> LegalHoldSetOut:
    """Stops all contact with the account at once, until the hold is lifted."""
    created = await handlers.set_legal_hold(platform.db, client=slug, account_ref=account_ref, hold=body.hold,
                                            note=body.note, by=principal.key_id, now=platform.clock())
    response.headers["Location"] = f"/v1/clients/{slug}/accounts/{account_ref}/legal-holds/{body.hold}"
    return LegalHoldSetOut(status="set" if created else "already_set", hold=body.hold)


@router.delete("/clients/{slug}/accounts/{account_ref}/legal-holds/{hold}", status_code=204)
async def lift_hold(slug: str, account_ref: str, hold: Hold, principal: HoldKeeper,
                    platform: PlatformDep) -> Response:
    """An operator lifts a legal hold from the account (account.legal_hold_lifted): segmentation decides its
    treatment again and contact may resume. 404 when the account has no such hold in force."""
    await handlers.lift_legal_hold(platform.db, client=slug, account_ref=account_ref, hold=hold,
                                   by=principal.key_id, now=platform.clock())
    return Response(status_code=204)


@router.post("/clients/{slug}/do-not-contact", response_model=DoNotContactOut, status_code=201)
async def do_not_contact(body: DoNotContactIn, client: ClientOfCaller, principal: CurrentPrincipal,
                         platform: PlatformDep, response: Response) -> DoNotContactOut:
    """Puts a debtor on the client company's do-not-contact list: every channel, every account, for good."""
    refs = await handlers.add_do_not_contact(platform.db, client=client.slug, debtor_id=body.debtor_id,
                                             reason=body.reason, by=principal.key_id, now=platform.clock())
    # The entry is the person, whose id number never goes in a URL: it shows as the withdrawal in each of the
    # person's accounts' consents (the first of them here; a person with no account yet has none to show it).
    response.headers["Location"] = (f"/v1/clients/{client.slug}/accounts/{refs[0]}/consents" if refs
                                    else f"/v1/clients/{client.slug}/do-not-contact")
    return DoNotContactOut(accounts=len(refs))


@router.get("/clients/{slug}/contact-rules", response_model=ContactRulesOut)
async def get_rules(client: ClientOfCaller, platform: PlatformDep, response: Response) -> ContactRulesOut:
    """The client company's own rules and the rules in force, with the ETag a change may send back as If-Match."""
    override = await handlers.contact_rules(platform.db, client=client.slug)
    response.headers["ETag"] = handlers.rules_etag(client.country, override)
    return ContactRulesOut.of(client.slug, client.country, override,
                              handlers.rules_in_force(client.country, override))


@router.put("/clients/{slug}/contact-rules", response_model=ContactRulesOut, responses={
    412: {"description": "precondition_failed: If-Match names rules that have changed since"}})
async def put_rules(body: ContactRulesIn, client: ClientOfOperator, platform: PlatformDep, if_match: IfMatchHeader,
                    response: Response) -> ContactRulesOut:
    """Sets the client company's stricter rules; a rule looser than the law is refused."""
    override = RulesOverride(windows=body.windows, daily_limit=body.daily_limit, calls_in_7_days=body.calls_in_7_days,
                             one_channel_per_week=body.one_channel_per_week)
    rules = await handlers.replace_contact_rules(platform.db, client=client.slug, country=client.country,
                                                 override=override, now=platform.clock(), if_match=if_match)
    response.headers["ETag"] = handlers.rules_etag(client.country, override)
    return ContactRulesOut.of(client.slug, client.country, override, rules)


@router.get("/clients/{slug}/accounts/{account_ref}/consents", response_model=ConsentsOut)
async def get_consents(account_ref: str, client: ClientOfCaller, platform: PlatformDep) -> ConsentsOut:
    """The account's consent per channel (granted or withdrawn, since when, by which source) and its evidence."""
    record = await handlers.consent_record(platform.db, client=client.slug, account_ref=account_ref)
    return ConsentsOut.of(client.slug, account_ref, record)
