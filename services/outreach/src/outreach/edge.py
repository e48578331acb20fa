"""What outreach's routes share: the state main.build makes from the settings (the providers, the debtor
page's sandbox gateway), put on `app.state`, and the dependencies that find the client company of a path."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from outreach.providers import Providers, SandboxGateway
from outreach.settings import OutreachSettings
from outreach.store import SCHEMA
from outreach.whatsapp.store import CHANNEL_TTL_S, WhatsAppChannels
from recaudo_common.client_copy import ClientCopy
from recaudo_common.dependencies import OPERATOR_ONLY, client_of, from_app_state

APP_STATE = "outreach"


@dataclass(frozen=True)
class OutreachState:
    """Made once by main.build: never settings read from the environment at import."""

    settings: OutreachSettings
    providers: Providers
    gateway: SandboxGateway
    # The WhatsApp channel each of Meta's notifications reads, by client company, kept for a few seconds.
    whatsapp_channels: WhatsAppChannels = field(default_factory=lambda: WhatsAppChannels(CHANNEL_TTL_S))


get_state = from_app_state(APP_STATE, OutreachState)


async def get_settings(request: Request) -> OutreachSettings:
    return (await get_state(request)).settings


State = Annotated[OutreachState, Depends(get_state)]
Settings = Annotated[OutreachSettings, Depends(get_settings)]
# The client company of the path's {slug}, which the caller may see (operator, or the client itself) or operate.
ClientOfCaller = Annotated[ClientCopy, Depends(client_of(SCHEMA))]
ClientOfOperator = Annotated[ClientCopy, Depends(client_of(SCHEMA, roles=OPERATOR_ONLY))]
