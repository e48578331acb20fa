"""The event envelope of MISSION §9: topic names, the versioned event base class, the registry and decoding.

Every event that crosses a topic is a frozen pydantic model registered here by `(type, version)`; the models
themselves live in one module per topic family beside this one.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar, cast
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from recaudo_common.ids import time_ordered_id

# Topics group one aggregate's events; the key is the account (client/account_ref) so that one
# account's events stay in order, or the client slug for client-level events.
TOPIC_NAMES: tuple[str, ...] = ("client", "account", "contact", "promise", "arrangement", "payment", "debtor")


def topic_name(prefix: str, family: str) -> str:
    return f"{prefix}.{family}"


def family_of_topic(topic: str) -> str:
    """The family of events a topic carries (topic_name's inverse: a family holds no dot)."""
    return topic.rpartition(".")[2]


def group_id(prefix: str, group: str) -> str:
    """A consumer group's id on the broker: named under the platform's prefix, as its topics are."""
    return f"{prefix}.{group}"


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


def new_event_id() -> UUID:
    """An event's id: drawn as every row id of the platform is (recaudo_common.ids)."""
    return time_ordered_id()


class Envelope(BaseModel):
    """What travels on a topic: routing metadata around a versioned payload."""

    model_config = ConfigDict(frozen=True)

    event_id: UUID
    type: str
    version: int
    occurred_at: dt.datetime
    client: str
    key: str
    correlation_id: UUID
    causation_id: UUID | None = None
    payload: dict[str, Any]


class Event(BaseModel):
    """Base of every event payload. Subclasses set the class variables below."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: ClassVar[str]
    version: ClassVar[int] = 1
    family: ClassVar[str]
    producer: ClassVar[str]
    summary: ClassVar[str]

    def key(self, client: str) -> str:
        ref = getattr(self, "account_ref", None)
        return f"{client}/{ref}" if ref else client

    def envelope(
        self, *, client: str, occurred_at: dt.datetime, correlation_id: UUID | None = None,
        causation: Envelope | None = None,
    ) -> Envelope:
        event_id = new_event_id()
        correlation = correlation_id or (causation.correlation_id if causation else event_id)
        return Envelope(
            event_id=event_id, type=self.type, version=self.version, occurred_at=occurred_at, client=client,
            key=self.key(client), correlation_id=correlation,
            causation_id=causation.event_id if causation else None,
            payload=self.model_dump(mode="json"),
        )


REGISTRY: dict[tuple[str, int], type[Event]] = {}
# The types some version of which is registered, kept with the registry: a consumer asks for every record it passes
# over unread whether the platform knows its type.
KNOWN_TYPES: set[str] = set()


def register(cls: type[Event]) -> type[Event]:
    REGISTRY[(cls.type, cls.version)] = cls
    KNOWN_TYPES.add(cls.type)
    return cls


class UnknownEventError(Exception):
    pass


def decode(envelope: Envelope) -> Event:
    cls = REGISTRY.get((envelope.type, envelope.version))
    if cls is None:
        raise UnknownEventError(f"no event type {envelope.type} v{envelope.version}")
    event = cls.model_validate(envelope.payload)
    # A superseded version that can be read is upgraded here, so consumers only ever see the current one.
    upcast = _upcast_of(cls)
    return event if upcast is None else upcast(event)


@functools.cache
def _upcast_of(cls: type[Event]) -> Callable[[Event], Event] | None:
    """A version's `upcast` method, when its events are upgraded as they are read; looked up once per class: looked
    up on each event, the name its model lacks went through pydantic's __getattr__ to an AttributeError, 3 % of a
    consumer's CPU in the pipeline (#24)."""
    upcast = getattr(cls, "upcast", None)
    return cast("Callable[[Event], Event]", upcast) if callable(upcast) else None


E = TypeVar("E", bound=Event)


class DecodedEnvelope(Envelope, Generic[E]):
    """An envelope whose payload was decoded as the record was read: the event of the envelope's version (not yet
    upcast), validated straight from the record's JSON by its model. It serialises as the envelope it was read
    from, and `decode` gives back its event; only its `payload` is a model instead of a dict."""

    payload: E  # type: ignore[assignment]


@functools.cache
def _decoded_envelope(cls: type[Event]) -> type[DecodedEnvelope[Event]]:
    return DecodedEnvelope[cls]  # type: ignore[valid-type]


def decode_json(text: str | bytes, cls: type[Event]) -> tuple[Envelope, Event]:
    """A record of `cls` (an envelope's JSON) read in one pass: its envelope, and its event as `decode` gives it
    (upcast when the version is superseded). The envelope is validated as Envelope's and the payload as
    `cls.model_validate` would validate the dict Envelope parses; a consumer reads each record of the types it
    handles this way: building that dict of every value only to validate it into the model was a tenth of a
    consumer's CPU in the pipeline, the model's validation from it another (#24). ValidationError as either."""
    envelope = _decoded_envelope(cls).model_validate_json(text)
    upcast = _upcast_of(cls)
    return envelope, envelope.payload if upcast is None else upcast(envelope.payload)


def family_of(event_type: str) -> str:
    return event_type.split(".", 1)[0]
