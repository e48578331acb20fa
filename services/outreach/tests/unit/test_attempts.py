"""The send's pure rules: which status may follow which, when a lease allows a provider call, what a provider's
error and a look-up's answer make of a send."""

import datetime as dt

import pytest

from outreach.domain import attempts
from outreach.domain.attempts import LookupAnswer, Reconciliation, SendOutcome

pytestmark = pytest.mark.unit
NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)


def test_a_send_in_doubt_is_never_scheduled_again_but_only_confirmed_or_failed() -> None:
    assert attempts.can_move("sending", "unknown") and attempts.can_move("sending", "scheduled")
    assert {s for s in attempts.STATUSES if attempts.can_move("unknown", s)} == {"sent", "delivered", "failed"}
    assert not attempts.can_move("unknown", "sending") and not attempts.can_move("sent", "sending")
    assert not any(attempts.can_move(final, s) for final in ("delivered", "failed", "cancelled")
                   for s in attempts.STATUSES)


def test_a_provider_is_called_only_while_the_lease_outlasts_the_whole_call() -> None:
    until = attempts.lease_until(NOW, 120)
    assert attempts.may_call_provider(until, NOW, 30)
    assert attempts.may_call_provider(until, NOW + dt.timedelta(seconds=89), 30)
    assert not attempts.may_call_provider(until, NOW + dt.timedelta(seconds=89.5), 30)  # the margin
    assert not attempts.may_call_provider(until, NOW + dt.timedelta(seconds=100), 30)


def test_a_lease_shorter_than_a_call_is_refused() -> None:
    attempts.check_lease_settings(120, 30)
    with pytest.raises(ValueError, match="longer than a provider call"):
        attempts.check_lease_settings(30, 30)


@pytest.mark.parametrize(("transient", "ambiguous", "tries", "expected"), [
    (True, True, 1, SendOutcome.AMBIGUOUS),  # a timeout: looked up, never retried blindly
    (True, True, 9, SendOutcome.AMBIGUOUS),
    (False, True, 1, SendOutcome.AMBIGUOUS),
    (True, False, 1, SendOutcome.RETRY),  # certainly not taken: decided again later
    (True, False, 5, SendOutcome.FAILED),  # out of tries
    (False, False, 1, SendOutcome.FAILED),  # refused for good
])
def test_what_a_providers_error_makes_of_a_send(transient: bool, ambiguous: bool, tries: int,
                                                 expected: SendOutcome) -> None:
    assert attempts.after_send_error(transient=transient, ambiguous=ambiguous, tries=tries, max_tries=5) is expected


def test_retries_back_off_exponentially() -> None:
    assert [attempts.retry_at(NOW, n, 30) - NOW for n in (1, 2, 3)] == [
        dt.timedelta(seconds=30), dt.timedelta(seconds=60), dt.timedelta(seconds=120)]


@pytest.mark.parametrize(("answer", "lookups", "expected"), [
    (LookupAnswer(True), 0, Reconciliation.CONFIRM),
    (LookupAnswer(True), 9, Reconciliation.CONFIRM),
    (LookupAnswer(False), 0, Reconciliation.NOT_SENT),
    (LookupAnswer(None, retry=True), 0, Reconciliation.LOOK_AGAIN),
    (LookupAnswer(None, retry=True), 4, Reconciliation.UNKNOWN),  # asked five times: an operator decides
    (LookupAnswer(None), 0, Reconciliation.UNKNOWN),  # SMTP: nobody to ask
])
def test_a_send_whose_lease_expired_is_settled_by_the_providers_answer(answer: LookupAnswer, lookups: int,
                                                                       expected: Reconciliation) -> None:
    assert attempts.reconcile(answer, lookups=lookups, max_lookups=5) is expected
