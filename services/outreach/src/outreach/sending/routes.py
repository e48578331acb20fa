"""Sending's operator routes: the sends nobody could confirm or rule out (`unknown`), for someone to decide."""

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict

from outreach.sending import handlers
from outreach.store import SCHEMA
from recaudo_common.client_copy import ClientCopy
from recaudo_common.dependencies import PlatformDep, client_of
from recaudo_common.pagination import Page, PageRequest, cursor_time, cursor_uuid, page_request
from recaudo_common.routing import AuthorisedFirstRoute


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


class UnknownSendsOut(Page[UnknownSendOut]):
    """v1: a page of sends in doubt, oldest first; `next` links the following page."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": [{"attempt_id": "f1a3c5e7-9b2d-4f6a-8c0e-2a4c6e8a0b13", "account_ref": "CR-2024-000342",
                   "channel": "email", "provider": "smtp",
                   "provider_message_id": "f1a3c5e7-9b2d-4f6a-8c0e-2a4c6e8a0b13@recaudo.example",
                   "sending_since": "2026-12-04T10:30:12-05:00",
                   "reason": "the provider cannot tell whether it has the message", "tries": 1}],
        "next": "/v1/clients/banco-andino/unknown-sends?cursor=WyIyMDI2LTEyLTA0VDE1OjMwOjEyKzAwOjAwIiwiZjFhM2M1ZTctOWIy"
                "ZC00ZjZhLThjMGUtMmE0YzZlOGEwYjEzIl0&limit=200"}]})


ClientOfCaller = Annotated[ClientCopy, Depends(client_of(SCHEMA))]
UnknownSendPaging = Annotated[PageRequest, page_request(default=200, maximum=1000)]

router = APIRouter(route_class=AuthorisedFirstRoute, prefix="/v1", tags=["outreach"])


@router.get("/clients/{slug}/unknown-sends", response_model=UnknownSendsOut)
async def unknown_sends(slug: str, client: ClientOfCaller, platform: PlatformDep, paging: UnknownSendPaging,
                        response: Response) -> UnknownSendsOut:
    """The client company's sends in doubt, oldest first (one never claimed last); follow `next`."""
    key = paging.key(2)
    after = None if key is None else (None if key[0] is None else cursor_time(key[0]), cursor_uuid(key[1]))
    sends = await handlers.unknown_sends(platform.db, client=client.slug, after=after, limit=paging.limit + 1)
    page = paging.page([UnknownSendOut(
        attempt_id=u.attempt_id, account_ref=u.account_ref, channel=u.channel, provider=u.provider,
        provider_message_id=u.provider_message_id, sending_since=u.sending_since, reason=u.reason, tries=u.tries)
        for u in sends], lambda u: (u.sending_since.isoformat() if u.sending_since else None, str(u.attempt_id)),
        response)
    return UnknownSendsOut(items=page.items, next=page.next)
