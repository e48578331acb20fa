"""Outreach's HTTP API: the compliance check agents' dialers call before they dial."""


import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from outreach import store
from outreach.domain.compliance import decide
from recaudo_common.auth import Principal
from recaudo_common.client_copy import get_client
from recaudo_common.errors import ProblemError, not_found
from recaudo_common.events import Channel
from recaudo_common.runtime import Platform


class ComplianceCheckIn(BaseModel):
    """v1"""

    model_config = ConfigDict(extra="forbid")
    client: str
    account_ref: str
    channel: Channel
    at: dt.datetime = Field(description="timezone-aware instant of the intended contact")


class ComplianceCheckOut(BaseModel):
    """v1"""

    allowed: bool
    reasons: list[str]
    next_allowed_at: dt.datetime | None
    debtor_local_time: dt.datetime


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
    cancel_reason: str | None
    created_at: dt.datetime
    decisions: list[DecisionOut]


class AttemptList(BaseModel):
    items: list[AttemptOut]


def build_router(platform: Platform) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["outreach"])
    Auth = Annotated[Principal, Depends(platform.auth)]

    @router.post("/compliance/check", response_model=ComplianceCheckOut)
    async def compliance_check(body: ComplianceCheckIn, principal: Auth) -> ComplianceCheckOut:
        principal.require_client(body.client)
        if body.at.tzinfo is None:
            raise ProblemError(422, "naive_datetime", "Invalid instant", "`at` needs a UTC offset")
        async with platform.db.transaction() as s:
            client = await get_client(s, store.SCHEMA, body.client)
            account = await store.get_account(s, body.client, body.account_ref)
        if client is None or account is None:
            raise not_found("account")
        decision = decide(country=client.country, timezone=client.timezone, at=body.at)
        return ComplianceCheckOut(allowed=decision.allowed, reasons=list(decision.reasons),
                                  next_allowed_at=decision.next_allowed_at, debtor_local_time=decision.local_time)

    @router.get("/clients/{slug}/accounts/{account_ref}/contacts", response_model=AttemptList)
    async def contacts(slug: str, account_ref: str, principal: Auth) -> AttemptList:
        principal.require_client(slug)
        async with platform.db.transaction() as s:
            rows = await store.contact_history(s, slug, account_ref)
        return AttemptList(items=[AttemptOut.model_validate(r) for r in rows])

    return router
