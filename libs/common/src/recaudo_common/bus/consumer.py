"""The consumer runtime: topic -> handler, inbox-guarded, a batch per transaction, retry then DLQ.

A handler receives the decoded event and a HandlerContext (session, envelope, now, emit). Its effects,
the inbox row and any outbox rows commit together; offsets are committed only after that commit. What a handler
emits carries the event's correlation and names it as its cause (ctx.emit, or Outbox.add under the Cause the
runtime sets for a plain handler; a batch handler emits through each event's ctx).
A fetched batch is applied in one transaction with one inbox claim and one outbox write; a service may
also give a batch handler for an event type, which takes a run of consecutive events of that type at once
(set-based SQL instead of a round trip per event). If anything in the batch fails it is rolled back and
replayed one event at a time through the plain handlers, each with its retries and, at the end, the DLQ.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.bus.base import (
    DEAD_LETTER_ERROR,
    DEAD_LETTER_REASON,
    DEAD_LETTER_TRACE,
    DEAD_LETTERED_BY,
    TRACE_HEADERS,
    Message,
    OutgoingMessage,
    Transport,
    known_type,
)
from recaudo_common.bus.inbox_retention import InboxHorizonError, InboxRetention, passed_by, refused
from recaudo_common.db import Database, is_transient
from recaudo_common.events import (
    Envelope,
    Event,
    UnknownEventError,
    decode,
    dlq_topic,
    group_id,
    topic_name,
)
from recaudo_common.instrumentation import libraries_traced_if
from recaudo_common.outbox import Cause, Outbox, Serialised, Staged, caused_by, claim_many, claim_once
from recaudo_common.redaction import describe_error, error_code, scrubbed_traceback
from recaudo_common.telemetry import (
    CONSUMER_LAG,
    CONSUMER_RETRIES,
    DLQ_MESSAGES,
    EVENTS_CONSUMED,
    extract_context,
    tracer,
)

log = logging.getLogger("recaudo.consumer")

Clock = Callable[[], dt.datetime]


@dataclass
class HandlerContext:
    """What a handler may touch: the transaction, the incoming envelope, the time, and the outbox."""

    session: AsyncSession
    envelope: Envelope
    now: dt.datetime
    outbox: Outbox
    staged: list[Staged] = field(default_factory=list)  # shared by every event of the transaction

    @property
    def cause(self) -> Cause:
        """What this event's effects carry: its correlation, and it as their cause."""
        return Cause.of(self.envelope)

    async def emit(self, event: Event, *, client: str | None = None) -> None:
        """Stages the event; the runtime writes all that the transaction staged to the outbox before it commits."""
        self.staged.append(self.outbox.stage(
            event.envelope(client=client or self.envelope.client, occurred_at=self.now, causation=self.envelope)))

    def emit_serialised(self, event: Serialised) -> None:
        """emit for an event its handler wrote as JSON itself: the bytes `emit` would write, this event its cause
        (a handler emitting one event per account of a large batch skips building three models for each, #24)."""
        self.staged.append(self.outbox.stage_serialised(event))


Handler = Callable[[Any, HandlerContext], Awaitable[None]]
# A run of consecutive events of one type, each with its own context (same session), never two with one key.
BatchHandler = Callable[[list[tuple[Any, HandlerContext]]], Awaitable[None]]


class _BatchAbortedError(Exception):
    """A poison message in a batch: the batch falls back to one event at a time."""


class UndecodableRecordError(Exception):
    """A record that is no event this consumer can read; `fault` says why, as a code."""

    def __init__(self, fault: str) -> None:
        super().__init__(fault)
        self.fault = fault


def _reason(exc: BaseException) -> str:
    """The dead letter's reason code for a failure: what went wrong, never the data it went wrong on."""
    if isinstance(exc, UnknownEventError):
        return "unknown_event_version"
    if isinstance(exc, ValidationError):
        return "invalid_payload"
    return f"handler_failed:{error_code(exc)}"


@dataclass(frozen=True)
class Subscriptions:
    """A service's consumer: its name (its consumer group's, and its inbox's), its schema (inbox, outbox) and its
    handlers by event type."""

    consumer: str
    schema: str
    handlers: dict[type[Event], Handler]
    # Optional set-based forms of some handlers: same effects as calling the handler once per event in order.
    batch_handlers: dict[type[Event], BatchHandler] = field(default_factory=dict)
    # Of those, the ones that apply their run's events in order themselves, so a run may hold one key more than
    # once: reporting's contacts (a pipelined statement per event: a contact's attempt and its delivery, side by
    # side in their partition, go in one run instead of splitting it) and its payments (each account's last
    # payment of the run is its balance), #24. The others' runs never repeat a key (set-based SQL touches a row
    # once per statement).
    in_order: frozenset[type[Event]] = frozenset()
    # Families read by a consumer group of their own, `{consumer}-{lane}` (lane -> families), so their events never
    # wait behind the other families' (#24: reporting's payments behind a bulk upload's accounts). The inbox stays
    # the consumer's: an event is applied once whichever of its groups reads it.
    lanes: dict[str, frozenset[str]] = field(default_factory=dict)
    group: str | None = None  # this one's consumer group, when it is one lane of a consumer (see by_group)
    # Run first in a batch's transaction (the fast path) with its events, before anything else takes a lock: takes
    # at once, in one order, the locks its handlers will ask for one run after another, so two workers' batches
    # wait for each other instead of each holding one and asking for the other's (a deadlock, replayed one event
    # at a time). Segmentation's account locks (segmentation.account_locks.lock_batch).
    batch_locks: Callable[[AsyncSession, list[tuple[Event, Envelope]]], Awaitable[None]] | None = None

    def __post_init__(self) -> None:
        if missing := set(self.batch_handlers) - set(self.handlers):
            raise ValueError(f"batch handlers need a plain handler too (the fallback): {sorted(map(str, missing))}")
        if unread := set().union(*self.lanes.values()) - set(self.families()):
            raise ValueError(f"lanes name families this consumer does not read: {sorted(unread)}")
        if unbatched := self.in_order - set(self.batch_handlers):
            raise ValueError(f"in_order names types without a batch handler: {sorted(map(str, unbatched))}")

    @property
    def group_name(self) -> str:
        return self.group or self.consumer

    def by_group(self) -> list[Subscriptions]:
        """One Subscriptions per consumer group: the consumer's own (every family no lane takes), then each lane's."""
        if not self.lanes:
            return [self]
        laned: set[str] = set().union(*self.lanes.values())

        def reading(families: set[str] | frozenset[str], group: str | None) -> Subscriptions:
            return Subscriptions(
                self.consumer, self.schema, {c: h for c, h in self.handlers.items() if c.family in families},
                {c: h for c, h in self.batch_handlers.items() if c.family in families},
                frozenset(c for c in self.in_order if c.family in families), group=group,
                batch_locks=self.batch_locks)

        return [reading(set(self.families()) - laned, None),
                *(reading(families, f"{self.consumer}-{lane}") for lane, families in sorted(self.lanes.items()))]

    def repeats_keys(self, event_type: str) -> bool:
        """Whether a run of this type's batch handler may hold one key more than once (in_order)."""
        return any(cls.type == event_type for cls in self.in_order)

    def batch_handler_for(self, event_type: str) -> BatchHandler | None:
        return self._by_type[1].get(event_type)

    @functools.cached_property
    def _by_type(self) -> tuple[dict[str, Handler], dict[str, BatchHandler]]:
        """The handler and batch handler of each event type (the first class of the type's), asked twice per event."""
        plain: dict[str, Handler] = {}
        batch: dict[str, BatchHandler] = {}
        for cls, handler in self.handlers.items():
            plain.setdefault(cls.type, handler)
        for cls, batch_handler in self.batch_handlers.items():
            batch.setdefault(cls.type, batch_handler)
        return plain, batch

    def families(self) -> list[str]:
        return sorted({cls.family for cls in self.handlers})

    def types(self) -> frozenset[str]:
        """The event types this consumer reads: its subscriber decodes their records as it reads them, and passes
        over the others' (read_record)."""
        return frozenset(cls.type for cls in self.handlers)

    def topics(self, prefix: str) -> list[str]:
        return [topic_name(prefix, f) for f in self.families()]

    def handler_for(self, event_type: str) -> Handler | None:
        return self._by_type[0].get(event_type)


@dataclass
class ConsumerRuntime:
    db: Database
    transport: Transport
    subscriptions: Subscriptions
    prefix: str
    clock: Clock
    max_retries: int = 3
    backoff_s: float = 0.2
    # How long the inbox remembers an applied event (None: for ever); recaudo_common.bus.inbox_retention.
    inbox_keep: dt.timedelta | None = None

    def __post_init__(self) -> None:
        self.outbox = Outbox(self.subscriptions.schema)

    def _decode(self, message: Message) -> tuple[Handler | None, Event | None, Exception | None]:
        """The message's handler and event; or, for a message to dead-letter, the reason as an exception (with
        a handler of None when no handler could have taken it). None, None, None: not this consumer's."""
        if passed_by(message, self.subscriptions.consumer):
            return None, None, None  # another consumer's dead letter, replayed for it alone
        if message.fault is not None:
            return None, None, UndecodableRecordError(message.fault)
        handler = self.subscriptions.handler_for(message.envelope.type)
        if handler is None:
            if not known_type(message.envelope.type):
                # No version of the platform's knows it: kept for a replay after an upgrade, not dropped.
                return None, None, UndecodableRecordError("unknown_event_type")
            return None, None, None
        try:  # decoded as it was read (the subscriber knows the types this consumer reads), or now
            return handler, message.event if message.event is not None else decode(message.envelope), None
        except (UnknownEventError, ValidationError) as exc:
            return handler, None, exc

    async def _apply(self, session: AsyncSession, message: Message, handler: Handler, event: Event) -> str:
        subs = self.subscriptions
        with tracer.start_as_current_span(
            f"consume {message.envelope.type}", context=extract_context(message.headers),
            attributes={"messaging.destination": message.topic, "recaudo.consumer": subs.consumer,
                        "recaudo.client": message.envelope.client},
        ) as span, libraries_traced_if(span):
            if not await claim_once(session, subs.schema, subs.consumer, message.envelope):
                return "duplicate"
            ctx = HandlerContext(session, message.envelope, self.clock(), self.outbox)
            with caused_by(Cause.of(message.envelope)):
                await handler(event, ctx)
            await self.outbox.write(session, ctx.staged)
        return "processed"

    async def handle(self, message: Message) -> str:
        """Processes one message in its own transactions: retries with backoff, then the DLQ.
        Returns the outcome (processed, duplicate, ignored, dead_lettered)."""
        handler, event, poison = self._decode(message)
        if poison is not None or (handler is not None and event is None):
            await self._dead_letter(message, poison or ValueError("undecodable event"))
            return "dead_lettered"
        if handler is None or event is None:
            return "ignored"
        for attempt in range(self.max_retries + 1):
            try:
                async with self.db.transaction(custom_plans=True) as session:
                    return await self._apply(session, message, handler, event)
            except Exception as exc:
                if is_transient(exc):
                    # The database or broker is out of reach: nothing is wrong with the event. Give up the
                    # batch uncommitted; the supervisor restarts the consumer, which fetches it again.
                    raise
                if attempt >= self.max_retries:
                    await self._dead_letter(message, exc)
                    return "dead_lettered"
                CONSUMER_RETRIES.labels(self.subscriptions.consumer, message.topic).inc()
                log.warning("handler failed, retrying", extra={"fields": {
                    "consumer": self.subscriptions.consumer, "type": message.envelope.type,
                    "attempt": attempt + 1, "error": type(exc).__name__}})
                await asyncio.sleep(self.backoff_s * 2**attempt)
        return "dead_lettered"  # pragma: no cover - the loop always returns

    async def _apply_all(self, messages: list[Message]) -> list[str] | None:
        """Applies a whole batch in one transaction (one commit, not one per event). None, with
        everything rolled back, when any event fails or cannot be decoded."""
        try:
            async with self.db.transaction(custom_plans=True) as session:
                return await self._apply_together(session, messages)
        except Exception:
            return None

    async def _apply_together(self, session: AsyncSession, messages: list[Message]) -> list[str]:
        subs = self.subscriptions
        decoded: list[tuple[Message, Handler | None, Event | None]] = []
        for message in messages:
            handler, event, poison = self._decode(message)
            if poison is not None or (handler is not None and event is None):
                raise _BatchAbortedError
            decoded.append((message, handler, event))
        if subs.batch_locks is not None:
            await subs.batch_locks(session, [(e, m.envelope) for m, h, e in decoded if h is not None and e is not None])
        fresh = await claim_many(session, subs.schema, subs.consumer,
                                 [m.envelope for m, handler, _ in decoded if handler is not None])
        staged: list[Staged] = []
        outcomes: list[str] = []
        run: list[tuple[Event, HandlerContext, Message]] = []
        run_keys: set[str] = set()
        run_handler: BatchHandler | None = None
        for message, handler, event in decoded:
            if handler is None or event is None:
                outcomes.append("ignored")
                continue
            if message.envelope.event_id not in fresh:
                outcomes.append("duplicate")  # processed before, or twice in this batch
                continue
            fresh.discard(message.envelope.event_id)
            outcomes.append("processed")
            ctx = HandlerContext(session, message.envelope, self.clock(), self.outbox, staged)
            batch_handler = subs.batch_handler_for(message.envelope.type)
            if run_handler is not None and (batch_handler is not run_handler or (
                    message.key in run_keys and not subs.repeats_keys(message.envelope.type))):
                await self._apply_run(run_handler, run)
                run, run_keys, run_handler = [], set(), None
            if batch_handler is not None:
                run_handler = batch_handler
                run.append((event, ctx, message))
                run_keys.add(message.key)
                continue
            with tracer.start_as_current_span(
                f"consume {message.envelope.type}", context=extract_context(message.headers),
                attributes={"messaging.destination": message.topic, "recaudo.consumer": subs.consumer,
                            "recaudo.client": message.envelope.client},
            ) as span, caused_by(Cause.of(message.envelope)), libraries_traced_if(span):
                await handler(event, ctx)
        if run_handler is not None:
            await self._apply_run(run_handler, run)
        await self.outbox.write(session, staged)
        return outcomes

    async def _apply_run(self, handler: BatchHandler, run: list[tuple[Event, HandlerContext, Message]]) -> None:
        messages = [message for _, _, message in run]
        first = messages[0]
        with tracer.start_as_current_span(
            f"consume {first.envelope.type} x{len(run)}", context=extract_context(batch_lead(messages).headers),
            attributes={"messaging.destination": first.topic, "recaudo.consumer": self.subscriptions.consumer,
                        "messaging.batch.message_count": len(run)},
        ) as span, libraries_traced_if(span):
            await handler([(event, ctx) for event, ctx, _ in run])

    async def handle_batch(self, batch: list[Message]) -> list[str]:
        """The fast path applies the batch at once; if anything in it fails, the batch is rolled back
        and replayed one event at a time, each with its retries and, at the end, the DLQ."""
        with libraries_traced_if(None):  # the statements around the events' spans are no trace's
            outcomes = await self._apply_all(batch) if len(batch) > 1 else None
            if outcomes is not None:
                return outcomes
            return [await self.handle(message) for message in batch]

    async def _dead_letter(self, message: Message, exc: BaseException) -> None:
        """Sends the message to its topic's DLQ with why. The headers say it without personal data: a reason
        code, the error's class, SQLSTATE and scrubbed message, and a scrubbed trace (a database error's row and
        parameters never leave). A record that was not an envelope keeps its value byte for byte (the DLQ is
        access-controlled; an operator inspects or replays it) and, of its own headers, only the trace context."""
        reason = exc.fault if isinstance(exc, UndecodableRecordError) else _reason(exc)
        headers = (dict(message.headers) if message.fault is None
                   else {k: v for k, v in message.headers.items() if k in TRACE_HEADERS})
        out_value = message.value
        headers.update({
            DEAD_LETTERED_BY: self.subscriptions.consumer,
            DEAD_LETTER_REASON: reason,
            DEAD_LETTER_ERROR: describe_error(exc),
            DEAD_LETTER_TRACE: scrubbed_traceback(exc)[-2000:],
        })
        out = OutgoingMessage(dlq_topic(message.topic), message.key,
                              "" if out_value is not None else message.envelope.model_dump_json(), headers,
                              value=out_value)
        async with self.db.transaction() as session:
            await self.transport.publish(session, [out])
        DLQ_MESSAGES.labels(self.subscriptions.consumer, message.topic).inc()
        log.error("event dead-lettered", extra={"fields": {
            "consumer": self.subscriptions.consumer, "type": message.envelope.type,
            "event_id": str(message.envelope.event_id) if message.fault is None else None,
            "position": str(message.position), "reason": reason, "error": describe_error(exc)}})

    async def run(self, stop: asyncio.Event, *, max_records: int = 500) -> None:
        subs = self.subscriptions
        topics = subs.topics(self.prefix)
        await self.transport.ensure_topics(topics + [dlq_topic(t) for t in topics])
        subscriber = self.transport.subscriber(group_id(self.prefix, subs.group_name), topics, reads=subs.types())
        inbox = InboxRetention(self.db, subs.schema, subs.consumer, subs.group_name, self.inbox_keep)
        await subscriber.start()
        try:
            while not stop.is_set():
                batch = await subscriber.fetch(max_records=max_records, timeout_s=0.5)
                try:
                    await inbox.check(batch)
                except InboxHorizonError as error:
                    await subscriber.stop()
                    await refused(error, stop)
                    return
                for message, outcome in zip(batch, await self.handle_batch(batch), strict=True):
                    EVENTS_CONSUMED.labels(subs.consumer, message.topic, outcome).inc()
                if batch:
                    await subscriber.commit(batch)
                    inbox.applied()
                else:
                    CONSUMER_LAG.labels(subs.consumer, subs.group_name).set(await subscriber.lag())
                await inbox.prune_if_due()
        finally:
            await subscriber.stop()


def batch_lead(messages: Sequence[Message]) -> Message:
    """The event whose trace a batch's one span continues: the first whose trace is sampled, so a kept trace goes
    on through the batch (and into the events it emits) whatever its event's place in it; else the first. The
    other events' traces end at this consumer."""
    return next((m for m in messages if _sampled(m.headers)), messages[0])


def _sampled(headers: Mapping[str, str]) -> bool:
    """Whether the record's W3C `traceparent` has its sampled flag (the last two hex digits), read from the text:
    parsing every record's context to choose one would cost each event of a batch."""
    flags = headers.get("traceparent", "")[-2:]
    try:
        return bool(int(flags, 16) & 1) if len(flags) == 2 else False
    except ValueError:
        return False
