"""Sending's operator routes: the sends nobody could confirm or rule out (`unknown`), for someone to decide."""

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from outreach.sending import store as sending_store
from outreach.store import SCHEMA
from recaudo_common.auth import Principal
from recaudo_common.client_copy import get_client
from recaudo_common.errors import not_found
from recaudo_common.runtime import Platform


class UnknownSendOut(BaseModel):
    """v1: a send whose provider may or may not have the message (its replica died, or the answer was lost,
    and the provider could not be asked). It is never sent again automatically; the account's contact
    history shows it as `unknown` with the same reason."""

    attempt_id: uuid.UUID
    account_ref: str
    channel: str
    provider: str | None
    provider_message_id: str | None  # for SMTP, the Message-ID to look for in the mail server's log
    sending_since: dt.datetime | None
    reason: str | None
    tries: int


class UnknownSendsOut(BaseModel):
    items: list[UnknownSendOut]


def build_sending_router(platform: Platform) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["outreach"])
    Auth = Annotated[Principal, Depends(platform.auth)]

    @router.get("/clients/{slug}/unknown-sends", response_model=UnknownSendsOut)
    async def unknown_sends(slug: str, principal: Auth,
                            limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> UnknownSendsOut:
        """The client company's sends in doubt, oldest first."""
        principal.require_client(slug)
        async with platform.db.transaction() as s:
            if await get_client(s, SCHEMA, slug) is None:
                raise not_found(f"client company {slug!r}")
            rows = await sending_store.unknown_sends(s, slug, limit)
        return UnknownSendsOut(items=[UnknownSendOut(reason=r.pop("failure"), **r) for r in rows])

    return router
