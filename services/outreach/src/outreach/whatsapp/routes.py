"""WhatsApp's routes: the channel's configuration (operators; no secret is ever returned), Meta's verification
request and its signed notifications (no API key: the app secret's signature over the raw body), and the
conversations waiting for an agent."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict

from outreach.edge import ClientOfCaller, ClientOfOperator, Settings, State
from outreach.settings import OutreachSettings
from outreach.whatsapp import handlers
from outreach.whatsapp import store as whatsapp
from outreach.whatsapp.schemas import NotificationOut, WhatsAppChannelIn, WhatsAppChannelOut
from recaudo_common.dependencies import PlatformDep
from recaudo_common.errors import ProblemError
from recaudo_common.pagination import Page, PageRequest, cursor_time, cursor_uuid, page_request
from recaudo_common.personal_data import MasterKeyring
from recaudo_common.routing import AuthorisedFirstRoute
from recaudo_common.settings import not_https

router = APIRouter(route_class=AuthorisedFirstRoute, prefix="/v1", tags=["outreach"])


async def get_keyring(settings: Settings) -> MasterKeyring:
    return MasterKeyring.of_settings(settings)


Keyring = Annotated[MasterKeyring, Depends(get_keyring)]


def _out(settings: OutreachSettings, channel: whatsapp.WhatsAppChannel) -> WhatsAppChannelOut:
    return WhatsAppChannelOut(
        phone_number_id=channel.phone_number_id, api_base_url=channel.api_base_url, api_version=channel.api_version,
        webhook_url=handlers.webhook_url(settings, channel.client, channel.webhook_id),
        access_token_set=bool(channel.access_token), app_secret_set=bool(channel.app_secret),
        verify_token_set=bool(channel.verify_token), messages_per_second=channel.messages_per_second,
        updated_at=channel.updated_at)


@router.put("/clients/{slug}/channels/whatsapp", response_model=WhatsAppChannelOut,
            responses={201: {"model": WhatsAppChannelOut, "description": "configured for the first time"}})
async def put_whatsapp(body: WhatsAppChannelIn, client: ClientOfOperator, platform: PlatformDep, settings: Settings,
                       keyring: Keyring, state: State, response: Response) -> WhatsAppChannelOut:
    """Configures the client company's WhatsApp Business Cloud API number (201 the first time, 200 after); the
    answer has the webhook URL to give Meta and says which secrets are set, never what they are. Meta's
    notifications use the new secrets at once on this server, within 5 seconds on every other."""
    if settings.production and (wrong := not_https(body.api_base_url)):
        raise ProblemError(422, "insecure_api_url", "Invalid WhatsApp channel", f"the API base URL {wrong}")
    given = whatsapp.ChannelSettings(body.phone_number_id, body.access_token, body.app_secret, body.verify_token,
                                     body.api_base_url, body.api_version, body.messages_per_second)
    created, channel = await handlers.configure(platform.db, keyring, client=client.slug, given=given,
                                                now=platform.clock())
    state.whatsapp_channels.forget(client.slug)  # Meta's next notification here reads the new secrets
    response.status_code = 201 if created else 200
    if created:
        response.headers["Location"] = f"/v1/clients/{client.slug}/channels/whatsapp"
    return _out(settings, channel)


@router.get("/clients/{slug}/channels/whatsapp", response_model=WhatsAppChannelOut)
async def get_whatsapp(client: ClientOfCaller, platform: PlatformDep, settings: Settings,
                       keyring: Keyring) -> WhatsAppChannelOut:
    """The client company's WhatsApp channel, without any secret."""
    return _out(settings, await handlers.configuration(platform.db, keyring, client=client.slug))


@router.get("/webhooks/whatsapp/{slug}/{webhook_id}", response_class=PlainTextResponse,
            responses={403: {"description": "wrong mode or verify token"}})
async def verify_webhook(slug: str, webhook_id: str, platform: PlatformDep, keyring: Keyring, state: State,
                         mode: Annotated[str | None, Query(alias="hub.mode")] = None,
                         token: Annotated[str | None, Query(alias="hub.verify_token")] = None,
                         challenge: Annotated[str | None, Query(alias="hub.challenge")] = None) -> PlainTextResponse:
    """Meta's verification request: the bare challenge as text when the mode is `subscribe` and the token is the
    channel's verify token."""
    answer = await handlers.verify_subscription(platform.db, keyring, client=slug, webhook_id=webhook_id, mode=mode,
                                                token=token, challenge=challenge, channels=state.whatsapp_channels)
    if answer is None:
        raise ProblemError(403, "verification_refused", "Verification refused",
                           "hub.mode must be subscribe and hub.verify_token the channel's verify token")
    return PlainTextResponse(answer)


@router.post("/webhooks/whatsapp/{slug}/{webhook_id}", response_model=NotificationOut,
             responses={401: {"description": "missing or wrong X-Hub-Signature-256; nothing was recorded"}})
async def notified(slug: str, webhook_id: str, request: Request, platform: PlatformDep, settings: Settings,
                   keyring: Keyring, state: State) -> NotificationOut:
    """Meta's notifications (messages and statuses), verified with X-Hub-Signature-256 over the raw body (capped at
    the gate like every provider's notification)."""
    raw = await request.body()
    out = await handlers.receive(platform.db, keyring, settings, client=slug, webhook_id=webhook_id, raw=raw,
                                 signature=request.headers.get("x-hub-signature-256"), now=platform.clock(),
                                 channels=state.whatsapp_channels)
    if out is None:
        raise ProblemError(401, "bad_signature", "Webhook refused", "X-Hub-Signature-256 does not verify")
    return out


class ConversationOut(BaseModel):
    id: uuid.UUID
    account_refs: list[str]
    message_type: str
    text: str
    received_at: dt.datetime


class ConversationsOut(Page[ConversationOut]):
    """v1: a page of debtors' WhatsApp messages that no rule answers, oldest first, for an agent; `next` links the
    following page."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": [{"id": "9d4e2b7a-3c1f-4a8e-b6d5-0e7f1a2b3c4d", "account_refs": ["CR-2024-000187"],
                   "message_type": "text", "received_at": "2026-12-04T10:12:40-05:00",
                   "text": "Buenos días, ya pagué la primera cuota por PSE. ¿Me pueden confirmar que quedó "
                           "aplicada?"}],
        "next": "/v1/clients/banco-andino/whatsapp/conversations?cursor=WyIyMDI2LTEyLTA0VDE1OjEyOjQwKzAwOjAwIiwiOWQ0ZT"
                "JiN2EtM2MxZi00YThlLWI2ZDUtMGU3ZjFhMmIzYzRkIl0&limit=50"}]})


ConversationPaging = Annotated[PageRequest, page_request(default=50, maximum=200)]


@router.get("/clients/{slug}/whatsapp/conversations", response_model=ConversationsOut)
async def conversations(client: ClientOfCaller, platform: PlatformDep, paging: ConversationPaging,
                        response: Response) -> ConversationsOut:
    """The agent desk's WhatsApp queue: what debtors wrote that needs a person, oldest first; follow `next`."""
    key = paging.key(2)
    after = None if key is None else (cursor_time(key[0]), cursor_uuid(key[1]))
    async with platform.db.transaction() as s:
        found = await whatsapp.open_conversations(s, client.slug, after=after, limit=paging.limit + 1)
    page = paging.page([ConversationOut(id=c.id, account_refs=c.account_refs, message_type=c.kind, text=c.body,
                                        received_at=c.received_at) for c in found],
                       lambda c: (c.received_at.isoformat(), str(c.id)), response)
    return ConversationsOut(items=page.items, next=page.next)


@router.post("/clients/{slug}/whatsapp/conversations/{conversation_id}/handled", status_code=204,
             response_class=Response)
async def conversation_handled(conversation_id: uuid.UUID, client: ClientOfCaller, platform: PlatformDep) -> Response:
    """An agent took the conversation: it leaves the queue (again is no change)."""
    async with platform.db.transaction() as s:
        if not await whatsapp.mark_handled(s, client.slug, conversation_id, platform.clock()):
            raise ProblemError(404, "not_found", "Not found", "no such conversation waiting for an agent")
    return Response(status_code=204)
