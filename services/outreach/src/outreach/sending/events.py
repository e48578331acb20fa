"""What the send path writes beside a status change: the audit trail's entry, its outcome's counts, and the event
the attempt's state machine says the move emits, under the attempt's cause (its plan's correlation, the plan as
the cause)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from outreach.domain import attempts
from outreach.domain.attempts import Trigger
from outreach.domain.best_time_experiment import BestTimeArm
from outreach.providers.sandbox import Sandbox
from outreach.store import TrailEntry
from recaudo_common.db import after_commit
from recaudo_common.events import ContactAttemptedV2, Envelope, Event
from recaudo_common.outbox import Cause, caused
from recaudo_common.telemetry import CONTACT_REFUSALS, MESSAGES_SENT, OUTREACH_LATENESS

SENDS = Counter("recaudo_outreach_sends_total",
                "Outcomes of sends and of sends reconciled after their lease expired", ["provider", "outcome"])


def count_message(s: AsyncSession, channel: str, outcome: str, *, provider: str | None = None,
                  scheduled_at: dt.datetime | None = None, now: dt.datetime | None = None) -> None:
    """A message's outcome in the domain metrics, once its transaction has committed: sent (a provider took it;
    `simulated` when the sandbox did: no one was written to), refused (its provider refused it for good) or
    failed (it could not be made, or was never sent after every try). A message taken is also late by the time
    since the slot it was scheduled for."""
    if outcome == "sent" and provider == Sandbox.name:
        outcome = "simulated"
    late = None if scheduled_at is None or now is None or outcome not in ("sent", "simulated") else \
        max((now - scheduled_at).total_seconds(), 0.0)

    def count() -> None:
        MESSAGES_SENT.labels(channel, outcome).inc()
        if late is not None:
            OUTREACH_LATENESS.observe(late)

    after_commit(s, count)


def count_refusals(s: AsyncSession, reasons: list[str]) -> None:
    """The contact law's refusal of an attempt, by each reason it gave (codes: outside_hours, opted_out, ...)."""
    def count() -> None:
        for reason in reasons:
            CONTACT_REFUSALS.labels(reason).inc()

    after_commit(s, count)


def cause_of(plan_id: uuid.UUID | None, correlation_id: uuid.UUID | None, run: Cause) -> Cause:
    """What an attempt's events are caused by: the plan that scheduled it, under that plan's correlation; the
    command at hand (the scheduler's run, a provider's callback) for an attempt planned before plans kept their
    correlation."""
    if plan_id is None or correlation_id is None:
        return run
    return Cause(correlation_id, plan_id)


def emit(trigger: Trigger, event: Event, *, client: str, now: dt.datetime, cause: Cause) -> Envelope:
    """The envelope of the event the state machine says `trigger` emits, under the attempt's cause."""
    if attempts.move(trigger).event != event.type:
        raise AssertionError(f"{trigger} does not emit {event.type}")  # a defect: the table is the rule
    return caused(event.envelope(client=client, occurred_at=now), cause)


def attempted(account_ref: str, attempt_id: uuid.UUID, channel: str, *, provider: str, cost: Decimal,
              template: str | None, segments: int | None, now: dt.datetime,
              arm: BestTimeArm | None = None) -> ContactAttemptedV2:
    """contact.attempted for a message its provider took; it costs the provider's price per part. The sandbox's
    are marked simulated: no one was written to, and no KPI may count them as contacts. `arm`: the best-time
    experiment's arm the attempt was planned in (best_time.store.attempt_arms)."""
    return ContactAttemptedV2(attempt_id=attempt_id, account_ref=account_ref, channel=channel, provider=provider,
                              attempted_at=now, cost=cost * (segments or 1), template=template or "",
                              simulated=provider == Sandbox.name, best_time_arm=arm)


def entry(client: str, account_ref: str, at: dt.datetime, kind: str, attempt_id: uuid.UUID, channel: str,
          **detail: object) -> TrailEntry:
    return TrailEntry(client, account_ref, at, kind, attempt_id, channel, detail)
