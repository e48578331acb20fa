"""Consent's routes: the compliance check for agents' dialers, legal holds, the do-not-contact list and a client
company's stricter contact rules."""

import datetime as dt
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from outreach.consent import handlers
from outreach.domain.client_rules import RulesOverride
from outreach.domain.contact_law import CountryRules
from outreach.edge import ClientOfCaller, ClientOfOperator
from recaudo_common.dependencies import OPERATOR_ONLY, CurrentPrincipal, PlatformDep
from recaudo_common.events import Channel

Hold = Literal["dispute", "deceased", "insolvency", "litigation"]


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


router = APIRouter(prefix="/v1", tags=["outreach"])


@router.post("/compliance/check", response_model=ComplianceCheckOut)
async def compliance_check(body: ComplianceCheckIn, principal: CurrentPrincipal,
                           platform: PlatformDep) -> ComplianceCheckOut:
    """May this account's debtor be contacted on this channel at `at`? For agents' dialers."""
    principal.require_client(body.client)
    decision = await handlers.check(platform.db, client=body.client, account_ref=body.account_ref,
                                    channel=body.channel, at=body.at)
    return ComplianceCheckOut(allowed=decision.allowed, reasons=list(decision.reasons),
                              next_allowed_at=decision.next_allowed_at, debtor_local_time=decision.local_time)


@router.post("/clients/{slug}/accounts/{account_ref}/legal-holds", response_model=LegalHoldSetOut,
             status_code=201)
async def set_hold(slug: str, account_ref: str, body: LegalHoldIn, principal: CurrentPrincipal,
                   platform: PlatformDep) -> LegalHoldSetOut:
    """Stops all contact with the account at once, until the hold is lifted."""
    principal.require_client(slug, roles=OPERATOR_ONLY)
    created = await handlers.set_legal_hold(platform.db, client=slug, account_ref=account_ref, hold=body.hold,
                                            note=body.note, by=principal.key_id, now=platform.clock())
    return LegalHoldSetOut(status="set" if created else "already_set", hold=body.hold)


@router.delete("/clients/{slug}/accounts/{account_ref}/legal-holds/{hold}", status_code=204)
async def lift_hold(slug: str, account_ref: str, hold: Hold, principal: CurrentPrincipal,
                    platform: PlatformDep) -> Response:
    principal.require_client(slug, roles=OPERATOR_ONLY)
    await handlers.lift_legal_hold(platform.db, client=slug, account_ref=account_ref, hold=hold,
                                   by=principal.key_id, now=platform.clock())
    return Response(status_code=204)


@router.post("/clients/{slug}/do-not-contact", response_model=DoNotContactOut, status_code=201)
async def do_not_contact(body: DoNotContactIn, client: ClientOfCaller, principal: CurrentPrincipal,
                         platform: PlatformDep) -> DoNotContactOut:
    """Puts a debtor on the client company's do-not-contact list: every channel, every account, for good."""
    refs = await handlers.add_do_not_contact(platform.db, client=client.slug, debtor_id=body.debtor_id,
                                             reason=body.reason, by=principal.key_id, now=platform.clock())
    return DoNotContactOut(accounts=len(refs))


@router.get("/clients/{slug}/contact-rules", response_model=ContactRulesOut)
async def get_rules(client: ClientOfCaller, platform: PlatformDep) -> ContactRulesOut:
    override = await handlers.contact_rules(platform.db, client=client.slug)
    return ContactRulesOut.of(client.slug, client.country, override,
                              handlers.rules_in_force(client.country, override))


@router.put("/clients/{slug}/contact-rules", response_model=ContactRulesOut)
async def put_rules(body: ContactRulesIn, client: ClientOfOperator, platform: PlatformDep) -> ContactRulesOut:
    """Sets the client company's stricter rules; a rule looser than the law is refused."""
    override = RulesOverride(windows=body.windows, daily_limit=body.daily_limit, calls_in_7_days=body.calls_in_7_days,
                             one_channel_per_week=body.one_channel_per_week)
    rules = await handlers.replace_contact_rules(platform.db, client=client.slug, country=client.country,
                                                 override=override, now=platform.clock())
    return ContactRulesOut.of(client.slug, client.country, override, rules)
