"""What the two transports have in common: messages, and the interface consumers and the relay use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.events import Envelope


@dataclass(frozen=True)
class OutgoingMessage:
    topic: str
    key: str
    envelope_json: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Message:
    """One delivered event. `position` is the log position (postgres) or (partition, offset) (kafka)."""

    topic: str
    key: str
    envelope: Envelope
    headers: dict[str, str]
    position: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


class Subscriber(Protocol):
    async def start(self) -> None: ...
    async def fetch(self, *, max_records: int, timeout_s: float) -> list[Message]: ...
    async def commit(self, messages: list[Message]) -> None: ...
    async def lag(self) -> int: ...
    async def stop(self) -> None: ...


class Transport(Protocol):
    name: str

    async def start(self) -> None: ...
    async def stop(self) -> None: ...

    async def publish(self, session: AsyncSession, messages: list[OutgoingMessage]) -> None:
        """Publishes durably before returning. The postgres transport appends within `session`'s
        transaction; the kafka transport waits for acks=all and ignores the session."""
        ...

    async def ensure_topics(self, topics: list[str]) -> None: ...

    def subscriber(self, group: str, topics: list[str]) -> Subscriber: ...

    async def replay_dlq(self, topic: str, *, limit: int | None = None) -> int:
        """Re-publishes what `<topic>.dlq` holds to `topic`; returns how many."""
        ...
