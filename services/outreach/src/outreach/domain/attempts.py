"""A contact attempt's send as pure rules: which status may follow which, how long a claim (lease) holds, and
what becomes of a send after its provider's answer or silence. No I/O; the caller passes `now`.

A send is claimed with a lease (a claim token and an expiry). While the lease holds, only its holder may
change the attempt, and it calls the provider only while enough of the lease is left for the whole call. A
lease that expired with the attempt still `sending` means its holder died or stalled somewhere between the
claim and the confirmation: the provider may or may not have the message, so it is never sent again blindly.
It is looked up at the provider: found, it is confirmed; certainly absent, the attempt goes back to
`scheduled` and is decided again under the contact law like any other due attempt; otherwise it is `unknown`
for an operator."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from recaudo_common.domain_errors import Conflict


class Status(enum.StrEnum):
    """An attempt's status as outreach.attempts keeps it. The life the issue names maps onto it so: planned and
    due are both `scheduled` (due is `scheduled_at` reached, a matter of the clock, not of state); claimed is
    `sending` (held under a lease); `assigned` is the agent desk's claim; `unknown` is a claim whose fate
    nobody can tell; `replied` is a message the debtor answered (the reply itself is kept in outreach.replies)."""

    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ASSIGNED = "assigned"
    UNKNOWN = "unknown"
    REPLIED = "replied"


class Trigger(enum.StrEnum):
    """What happens to an attempt."""

    CLAIM = "claim"  # due, allowed by the contact law now, with an address and a provider: held under a lease
    RESCHEDULE = "reschedule"  # due but blocked now, allowed later (or its placement is not here yet)
    BLOCK = "block"  # due and never allowed (or its channel has no provider)
    NO_ADDRESS = "no_address"  # allowed, but nothing on file to send to
    UNRENDERABLE = "unrenderable"  # the client company's template cannot render this account's message
    CANCEL = "cancel"  # the plan went away: treatment changed, account closed, opted out, legal hold
    ASSIGN = "assign"  # an agent call handed to an agent
    TAKE_OVER = "take_over"  # its lease expired: another claim holds it now, to look it up
    RENEW = "renew"  # its holder extends the lease before a provider call
    LOOK_AGAIN = "look_again"  # the look-up failed for now
    TAKEN = "taken"  # the provider has the message (its answer, a look-up, or its status callback)
    RETRY = "retry"  # certainly not sent and worth another try: decided again later under the contact law
    REFUSED = "refused"  # certainly not sent, for good
    IN_DOUBT = "in_doubt"  # nobody can tell whether the provider has it: an operator decides
    DELIVERED = "delivered"  # the provider's receipt
    UNDELIVERED = "undelivered"  # the provider's receipt: it could not deliver
    REPLY = "reply"  # the debtor answered a message whose delivery was already confirmed
    # The debtor answered a message no receipt had confirmed yet: the answer proves it arrived, so the move emits
    # the delivery the receipt would have (a receipt that comes later finds the attempt settled).
    REPLY_BEFORE_RECEIPT = "reply_before_receipt"


@dataclass(frozen=True)
class Transition:
    source: Status
    trigger: Trigger
    target: Status
    event: str | None  # the type of the event the move emits (recaudo_common.events), None when it emits none


S, T = Status, Trigger
# Every move an attempt can make and the event it emits: the one place the send path, the receipts, the agent
# desk and the planning read them from. Anything not here is refused (IllegalTransition).
TRANSITIONS: tuple[Transition, ...] = (
    Transition(S.SCHEDULED, T.CLAIM, S.SENDING, None),
    Transition(S.SCHEDULED, T.RESCHEDULE, S.SCHEDULED, "contact.blocked"),
    Transition(S.SCHEDULED, T.BLOCK, S.CANCELLED, "contact.blocked"),
    Transition(S.SCHEDULED, T.NO_ADDRESS, S.CANCELLED, None),
    Transition(S.SCHEDULED, T.UNRENDERABLE, S.FAILED, "contact.failed"),
    Transition(S.SCHEDULED, T.CANCEL, S.CANCELLED, None),
    Transition(S.SCHEDULED, T.ASSIGN, S.ASSIGNED, "contact.attempted"),
    Transition(S.SENDING, T.TAKE_OVER, S.SENDING, None),
    Transition(S.SENDING, T.RENEW, S.SENDING, None),
    Transition(S.SENDING, T.LOOK_AGAIN, S.SENDING, None),
    Transition(S.SENDING, T.TAKEN, S.SENT, "contact.attempted"),
    Transition(S.SENDING, T.RETRY, S.SCHEDULED, None),
    Transition(S.SENDING, T.REFUSED, S.FAILED, "contact.failed"),
    Transition(S.SENDING, T.IN_DOUBT, S.UNKNOWN, None),
    # A receipt may overtake the send's own confirmation: the message was delivered all the same.
    Transition(S.SENDING, T.DELIVERED, S.DELIVERED, "contact.delivered"),
    Transition(S.SENDING, T.UNDELIVERED, S.FAILED, "contact.failed"),
    # `unknown` is left only on the provider's word: its status callback confirms the send (and its receipt then
    # applies as to any sent message). It is never claimed or sent again.
    Transition(S.UNKNOWN, T.TAKEN, S.SENT, "contact.attempted"),
    Transition(S.SENT, T.DELIVERED, S.DELIVERED, "contact.delivered"),
    Transition(S.SENT, T.UNDELIVERED, S.FAILED, "contact.failed"),
    Transition(S.SENT, T.REPLY_BEFORE_RECEIPT, S.REPLIED, "contact.delivered"),
    Transition(S.DELIVERED, T.REPLY, S.REPLIED, None),
)
del S, T
_MOVES = {(t.source, t.trigger): t for t in TRANSITIONS}
STATUSES = tuple(Status)


class IllegalTransition(Conflict):
    """A move the attempt's status does not allow (a defect, or a race the caller must lose quietly)."""

    def __init__(self, current: str, trigger: Trigger) -> None:
        super().__init__("illegal_transition", f"an attempt {current} cannot {trigger.value}")


def transition(current: Status | str, trigger: Trigger) -> Transition:
    """The move `trigger` makes from `current`; raises IllegalTransition when there is none."""
    try:
        move = _MOVES.get((Status(current), trigger))
    except ValueError:
        move = None
    if move is None:
        raise IllegalTransition(str(current), trigger)
    return move


@dataclass(frozen=True)
class Move:
    """A trigger applied to many attempts at once, as one conditional statement: from any of `sources` to
    `target` (an attempt in any other status is left alone: another replica or a receipt got there first)."""

    trigger: Trigger
    sources: tuple[Status, ...]
    target: Status
    event: str | None


def move(trigger: Trigger, *, only_from: tuple[Status, ...] | None = None) -> Move:
    """The trigger's move for a set-based update, from every status that allows it (or from `only_from`, each of
    which must allow it). A trigger leads to one status whatever it leaves from."""
    moves = [t for t in TRANSITIONS if t.trigger is trigger and (only_from is None or t.source in only_from)]
    for source in only_from or ():
        transition(source, trigger)
    targets = {t.target for t in moves}
    events = {t.event for t in moves}
    assert len(targets) == 1 and len(events) == 1, f"{trigger} must lead to one status with one event"
    return Move(trigger, tuple(t.source for t in moves), targets.pop(), events.pop())


def reply_trigger(current: Status | str) -> Trigger | None:
    """What a debtor's answer to a message does to its attempt: REPLY once delivered, REPLY_BEFORE_RECEIPT while
    only sent, nothing when it is already `replied` (a second answer) or in a status no answer can come from."""
    for trigger in (Trigger.REPLY, Trigger.REPLY_BEFORE_RECEIPT):
        if (Status(current) if current in STATUSES else None, trigger) in _MOVES:
            return trigger
    return None


def can_move(current: str, to: str) -> bool:
    return any(t.source == current and t.target == to for t in TRANSITIONS)


def decide_due(*, allowed: bool, allowed_later: bool, has_address: bool, has_provider: bool) -> Trigger:
    """The claim's re-check of a due attempt under the contact law at the instant of sending: what the law's
    decision, the address on file and the channel's provider make of it."""
    if allowed and not has_address:
        return Trigger.NO_ADDRESS
    if not allowed and allowed_later:
        return Trigger.RESCHEDULE
    if not allowed or not has_provider:
        return Trigger.BLOCK
    return Trigger.CLAIM


# Slack kept between the end of a provider call and the lease's expiry, for clocks that disagree a little
# between replicas and for the provider to have the message listed once it has answered.
LEASE_MARGIN = dt.timedelta(seconds=1)


def check_lease_settings(lease_s: float, call_timeout_s: float) -> None:
    """A lease must outlast a whole provider call with its margin, or a replica could never call safely."""
    if lease_s <= call_timeout_s + LEASE_MARGIN.total_seconds():
        raise ValueError(f"the send lease ({lease_s} s) must be longer than a provider call "
                         f"({call_timeout_s} s) plus {LEASE_MARGIN.total_seconds():.0f} s")


def lease_until(now: dt.datetime, lease_s: float) -> dt.datetime:
    return now + dt.timedelta(seconds=lease_s)


def may_call_provider(until: dt.datetime, now: dt.datetime, call_timeout_s: float) -> bool:
    """Whether a provider call started now ends (answered or timed out) while the lease still holds; if not,
    the lease is renewed first, or the message is not sent."""
    return now + dt.timedelta(seconds=call_timeout_s) + LEASE_MARGIN <= until


class SendOutcome(enum.Enum):
    SENT = "sent"  # the provider has it: confirm it
    RETRY = "retry"  # certainly not sent, worth another try: back to scheduled, decided again then
    FAILED = "failed"  # refused for good
    AMBIGUOUS = "ambiguous"  # the provider may have it: left to the look-up once the lease expires


def after_send_error(*, transient: bool, ambiguous: bool, tries: int, max_tries: int) -> SendOutcome:
    """What a provider's error means for the attempt. An error after the provider may have taken the message
    (a timeout, a connection lost after the request or the DATA was written) is never retried here."""
    if ambiguous:
        return SendOutcome.AMBIGUOUS
    if transient and tries < max_tries:
        return SendOutcome.RETRY
    return SendOutcome.FAILED


def retry_at(now: dt.datetime, tries: int, backoff_s: float) -> dt.datetime:
    return now + dt.timedelta(seconds=backoff_s * 2 ** max(tries - 1, 0))


@dataclass(frozen=True)
class LookupAnswer:
    """What the provider said when asked for an attempt's message: found (True), certainly absent (False), or
    it cannot tell (None), either for good (it keeps no such record) or for now (`retry`)."""

    found: bool | None
    retry: bool = False


class Reconciliation(enum.Enum):
    CONFIRM = "confirm"  # the provider has the message: it was sent once, record it
    NOT_SENT = "not_sent"  # certainly absent: back to scheduled, decided again under the contact law
    LOOK_AGAIN = "look_again"  # the look-up failed for now: ask again after another lease
    UNKNOWN = "unknown"  # nobody can tell: an operator decides; never sent again automatically


def reconcile(answer: LookupAnswer, *, lookups: int, max_lookups: int) -> Reconciliation:
    """The fate of a send whose lease expired, from the provider's answer; `lookups` counts earlier failed
    look-ups of this send."""
    if answer.found is True:
        return Reconciliation.CONFIRM
    if answer.found is False:
        return Reconciliation.NOT_SENT
    if answer.retry and lookups + 1 < max_lookups:
        return Reconciliation.LOOK_AGAIN
    return Reconciliation.UNKNOWN
