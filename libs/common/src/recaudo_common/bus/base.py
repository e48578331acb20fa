"""What the two transports have in common: messages, and the interface consumers and the relay use."""

from __future__ import annotations

import datetime as dt
import functools
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.events import REGISTRY, Envelope, Event, decode_json
from recaudo_common.events.envelope import KNOWN_TYPES

# A record larger than this is not an event of the platform's (the largest, an arrangement, is a few KB): it is
# dead-lettered unread instead of being parsed. Below Kafka's default message.max.bytes (1 MiB), so a dead
# letter of it always fits on the broker.
MAX_RECORD_BYTES = 256 * 1024
# The stand-in type of a record that could not be decoded: no handler has it, so a reader that does not look at
# `Message.fault` (a rebuild reading a topic from the start) passes over it.
UNDECODABLE = "recaudo.undecodable"
# The only headers of an undecodable record kept on its dead letter: the trace context, whose form is known.
TRACE_HEADERS = frozenset({"traceparent", "tracestate"})
# The header of a dead letter put back on its topic: the consumer that dead-lettered it, the only one that applies
# it (recaudo_common.bus.inbox_retention).
REPLAY_FOR = "recaudo-replay-for"
# The headers a dead letter gets, all under one prefix so a replay drops them together (replayed_message): the
# consumer that dead-lettered it, why (a reason code), the error's class and scrubbed message, a scrubbed trace.
DEAD_LETTER_PREFIX = "recaudo-dlq-"
DEAD_LETTERED_BY = DEAD_LETTER_PREFIX + "consumer"
DEAD_LETTER_REASON = DEAD_LETTER_PREFIX + "reason"
DEAD_LETTER_ERROR = DEAD_LETTER_PREFIX + "error"
DEAD_LETTER_TRACE = DEAD_LETTER_PREFIX + "trace"


@dataclass(frozen=True)
class OutgoingMessage:
    topic: str
    key: str
    envelope_json: str
    headers: dict[str, str]
    # The value exactly as a record held it, for the dead letter of a record that was not an envelope (or its
    # replay); envelope_json is then not used.
    value: bytes | None = None


@dataclass(frozen=True)
class Message:
    """One delivered event. `position` is the log position (postgres) or (partition, offset) (kafka)."""

    topic: str
    key: str
    envelope: Envelope
    headers: dict[str, str]
    position: Any = None
    # Why the record could not be decoded (a code: not_json, not_an_envelope, oversized, ...); `envelope` is then
    # a stand-in of type UNDECODABLE. The consumer dead-letters such a record.
    fault: str | None = None
    # The record's value as received (a transport sets it), so that a dead letter or a replay is that record
    # byte for byte, whatever it held.
    raw: bytes = b""
    # When the record was appended (the embedded log's `appended_at`, a Kafka record's timestamp); None when the
    # transport cannot say. The inbox's horizon is checked against it (recaudo_common.bus.inbox_retention).
    appended_at: dt.datetime | None = None
    # Read from a partition (a topic, on the embedded log) where its group had committed no offset: the group reads
    # it from the start, so it may be given what its consumer already applied under another group or before it
    # lost its offsets (the inbox's horizon is checked for such records only).
    fresh: bool = False
    # The record's event, decoded as it was read, when its reader named the types it reads (read_record's `reads`:
    # a consumer's runtime); `envelope.payload` is then that event's model of the record's version, not a dict.
    event: Event | None = None

    @property
    def value(self) -> bytes | None:
        """What to publish as this message's value when it goes on again; None: its envelope, serialised."""
        return self.raw if self.raw or self.fault is not None else None


# How an envelope the platform wrote begins (Envelope's fields in order): a reader that names the types it reads
# learns a record's type and version here before parsing it.
_HEAD = re.compile(r'\{"event_id":"[^"\\]*","type":"([^"\\]*)","version":(\d{1,9}),')


def known_type(event_type: str) -> bool:
    """Whether some version of the platform's knows the event type."""
    return event_type in KNOWN_TYPES


@functools.lru_cache(maxsize=256)
def _unread(event_type: str, version: int) -> Envelope:
    """The stand-in envelope of a record passed over unread: it names only the record's type and version."""
    return Envelope(event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"recaudo:unread:{event_type}:{version}"),
                    type=event_type, version=version, occurred_at=dt.datetime(1970, 1, 1, tzinfo=dt.UTC), client="",
                    key="", correlation_id=uuid.UUID(int=0), payload={})


def _read_named(text: str, reads: frozenset[str]) -> tuple[Envelope, Event | None] | None:
    """A record the platform wrote, by its type: one of `reads` decoded in one pass (decode_json), one of a type
    the platform knows but the reader does not read passed over unread (a stand-in envelope, no event: #24, a
    consumer's lane read 100,000 consent events per 100,000 accounts only to pass them over), the consumers that
    read its type judging it. None: read it as any record, which says what is wrong with it if anything (not
    written the platform's way, a type or version no version of the platform's knows, a payload its model
    refuses)."""
    head = _HEAD.match(text)
    if head is None:
        return None
    event_type, version = head[1], int(head[2])
    if event_type not in reads:
        return (_unread(event_type, version), None) if known_type(event_type) else None
    cls = REGISTRY.get((event_type, version))
    if cls is None:
        return None
    try:
        envelope, event = decode_json(text, cls)
    except ValidationError:
        return None
    # A key given twice keeps its last value: the record is the type peeked at, or it is read the usual way.
    return (envelope, event) if (envelope.type, envelope.version) == (event_type, version) else None


def read_record(topic: str, key: bytes | None, value: bytes | None, headers: dict[str, str],
                position: Any, appended_at: dt.datetime | None = None, *, fresh: bool = False,
                reads: frozenset[str] | None = None) -> Message:
    """A record off a topic as a Message; one that is not an event of the platform's becomes a Message with a
    fault instead of an exception, so that one bad record cannot stop its consumer. A reader that names the event
    types it reads (`reads`) gets each of those decoded (Message.event), and the others the platform knows passed
    over unread (_read_named)."""
    raw = value or b""
    fault: str | None = None
    envelope: Envelope | None = None
    event: Event | None = None
    if len(raw) > MAX_RECORD_BYTES:
        fault = "oversized"
    elif not key:
        fault = "missing_key"
    else:
        try:
            text = raw.decode("utf-8")
            key.decode("utf-8")
        except UnicodeDecodeError:
            fault = "invalid_utf8"
        else:
            named = None if reads is None else _read_named(text, reads)
            if named is not None:
                envelope, event = named
            else:
                try:
                    envelope = Envelope.model_validate_json(text)
                except ValidationError as exc:
                    fault = "not_json" if any(e["type"] == "json_invalid" for e in exc.errors()) else "not_an_envelope"
    if envelope is not None:
        return Message(topic=topic, key=key.decode() if key else "", envelope=envelope, headers=headers,
                       position=position, raw=raw, appended_at=appended_at, fresh=fresh, event=event)
    stand_in = Envelope(
        event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"recaudo:{topic}:{position}"), type=UNDECODABLE, version=0,
        occurred_at=dt.datetime(1970, 1, 1, tzinfo=dt.UTC), client="", key="",
        correlation_id=uuid.UUID(int=0), payload={},
    )
    return Message(topic=topic, key=(key or b"").decode("utf-8", "replace"), envelope=stand_in,
                   headers=headers, position=position, fault=fault, raw=raw, appended_at=appended_at,
                   fresh=fresh)


def replayed_message(topic: str, letter: Message) -> OutgoingMessage:
    """A dead letter put back on its topic: the event as it was (a record that was not one, byte for byte),
    without the dead-letter headers, for the consumer that dead-lettered it alone (REPLAY_FOR)."""
    headers = {k: v for k, v in letter.headers.items() if not k.startswith(DEAD_LETTER_PREFIX)}
    if consumer := letter.headers.get(DEAD_LETTERED_BY):
        headers[REPLAY_FOR] = consumer
    value = letter.value
    return OutgoingMessage(topic, letter.key, letter.envelope.model_dump_json() if value is None else "", headers,
                           value=value)


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

    def subscriber(self, group: str, topics: list[str], *, reads: frozenset[str] | None = None) -> Subscriber:
        """A consumer group's reader of `topics`; `reads`: the event types it reads (read_record)."""
        ...

    async def backlog(self, topic: str, groups: Sequence[str], *, at_most: int) -> int:
        """How many records of `topic` the furthest behind of `groups` has yet to read, counted up to `at_most`
        (a producer paces its bulk work on it); a group that never read the topic counts 0."""
        ...

    async def replay_dlq(self, topic: str, *, limit: int | None = None) -> int:
        """Re-publishes what `<topic>.dlq` holds to `topic`; returns how many."""
        ...


@runtime_checkable
class InDatabaseLog(Protocol):
    """A transport whose log is a table of the services' own database (the embedded default's): the relay has it
    move outbox rows into the log inside the database, never reading their envelopes into Python."""

    async def move_outbox_rows(self, session: AsyncSession, *, schema: str, topic_prefix: str,
                               ids: Sequence[int]) -> None:
        """Appends the outbox rows `ids` of `schema` to the log, in id order, as `topic_prefix` + their family,
        and deletes them: within `session`'s transaction, as `publish` appends."""
        ...
