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

STATUSES = ("scheduled", "sending", "sent", "delivered", "failed", "cancelled", "assigned", "unknown")
# Which status may follow which. `unknown` is left only on the provider's word (a status callback).
TRANSITIONS: dict[str, frozenset[str]] = {
    "scheduled": frozenset({"sending", "cancelled", "assigned", "scheduled"}),
    "sending": frozenset({"sent", "delivered", "failed", "scheduled", "unknown"}),
    "unknown": frozenset({"sent", "delivered", "failed"}),
    "sent": frozenset({"delivered", "failed"}),
    "delivered": frozenset(),
    "failed": frozenset(),
    "cancelled": frozenset(),
    "assigned": frozenset(),
}
# Slack kept between the end of a provider call and the lease's expiry, for clocks that disagree a little
# between replicas and for the provider to have the message listed once it has answered.
LEASE_MARGIN = dt.timedelta(seconds=1)


def can_move(current: str, to: str) -> bool:
    return to in TRANSITIONS.get(current, frozenset())


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
