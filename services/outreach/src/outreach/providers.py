"""Channel providers behind one interface. The sandbox records every message in its own table."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from outreach import store


@dataclass(frozen=True)
class OutboundMessage:
    attempt_id: uuid.UUID
    channel: str
    recipient: str
    body: str


class Provider(Protocol):
    name: str
    cost: Decimal

    async def send(self, s: AsyncSession, message: OutboundMessage, *, now: dt.datetime) -> None: ...


class SandboxSms:
    """Records the message in the same transaction as the attempt, so a crash never sends twice."""

    name = "sandbox"
    cost = Decimal("0.01")

    async def send(self, s: AsyncSession, message: OutboundMessage, *, now: dt.datetime) -> None:
        await store.record_sandbox_message(s, attempt_id=message.attempt_id, channel=message.channel,
                                           recipient=message.recipient, body=message.body, now=now)
