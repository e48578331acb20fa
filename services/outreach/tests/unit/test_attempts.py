"""The attempt's pure rules: every move of its state machine and the event it emits (the illegal ones refused),
when a lease allows a provider call, what a provider's error and a look-up's answer make of a send."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outreach.domain import attempts
from outreach.domain.attempts import IllegalTransition, LookupAnswer, Reconciliation, SendOutcome, Status, Trigger
from recaudo_common.domain_errors import Conflict

pytestmark = pytest.mark.unit
NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)


def test_a_send_in_doubt_is_never_scheduled_again_but_only_confirmed() -> None:
    assert attempts.can_move("sending", "unknown") and attempts.can_move("sending", "scheduled")
    assert {s for s in attempts.STATUSES if attempts.can_move("unknown", s)} == {"sent"}
    assert not attempts.can_move("unknown", "sending") and not attempts.can_move("sent", "sending")
    assert not any(attempts.can_move(final, s) for final in ("failed", "cancelled", "replied")
                   for s in attempts.STATUSES)
    assert {s for s in attempts.STATUSES if attempts.can_move("delivered", s)} == {"replied"}


# Every legal move and its event, written out once more by hand: a change to the table must change this too.
LEGAL = {
    (Status.SCHEDULED, Trigger.CLAIM): (Status.SENDING, None),
    (Status.SCHEDULED, Trigger.RESCHEDULE): (Status.SCHEDULED, "contact.blocked"),
    (Status.SCHEDULED, Trigger.BLOCK): (Status.CANCELLED, "contact.blocked"),
    (Status.SCHEDULED, Trigger.NO_ADDRESS): (Status.CANCELLED, None),
    (Status.SCHEDULED, Trigger.UNRENDERABLE): (Status.FAILED, "contact.failed"),
    (Status.SCHEDULED, Trigger.CANCEL): (Status.CANCELLED, None),
    (Status.SCHEDULED, Trigger.ASSIGN): (Status.ASSIGNED, "contact.attempted"),
    (Status.SENDING, Trigger.TAKE_OVER): (Status.SENDING, None),
    (Status.SENDING, Trigger.RENEW): (Status.SENDING, None),
    (Status.SENDING, Trigger.LOOK_AGAIN): (Status.SENDING, None),
    (Status.SENDING, Trigger.TAKEN): (Status.SENT, "contact.attempted"),
    (Status.SENDING, Trigger.RETRY): (Status.SCHEDULED, None),
    (Status.SENDING, Trigger.REFUSED): (Status.FAILED, "contact.failed"),
    (Status.SENDING, Trigger.IN_DOUBT): (Status.UNKNOWN, None),
    (Status.SENDING, Trigger.DELIVERED): (Status.DELIVERED, "contact.delivered"),
    (Status.SENDING, Trigger.UNDELIVERED): (Status.FAILED, "contact.failed"),
    (Status.UNKNOWN, Trigger.TAKEN): (Status.SENT, "contact.attempted"),
    (Status.SENT, Trigger.DELIVERED): (Status.DELIVERED, "contact.delivered"),
    (Status.SENT, Trigger.UNDELIVERED): (Status.FAILED, "contact.failed"),
    (Status.SENT, Trigger.REPLY_BEFORE_RECEIPT): (Status.REPLIED, "contact.delivered"),
    (Status.DELIVERED, Trigger.REPLY): (Status.REPLIED, None),
}


@pytest.mark.parametrize(("source", "trigger"), sorted(LEGAL))
def test_every_legal_move_reaches_its_status_and_emits_its_event(source: Status, trigger: Trigger) -> None:
    move = attempts.transition(source, trigger)
    assert (move.target, move.event) == LEGAL[(source, trigger)]
    assert attempts.transition(source.value, trigger) == move  # the table's own spelling works as well


def test_the_table_holds_exactly_the_legal_moves() -> None:
    assert {(t.source, t.trigger): (t.target, t.event) for t in attempts.TRANSITIONS} == LEGAL
    assert len(attempts.TRANSITIONS) == len(LEGAL)  # no move written twice


@given(st.sampled_from(Status), st.sampled_from(Trigger))
def test_every_other_move_is_refused_as_a_conflict(source: Status, trigger: Trigger) -> None:
    if (source, trigger) in LEGAL:
        assert attempts.transition(source, trigger).source is source
        return
    with pytest.raises(IllegalTransition) as refused:
        attempts.transition(source, trigger)
    assert isinstance(refused.value, Conflict) and refused.value.code == "illegal_transition"
    assert source.value in refused.value.detail and trigger.value in refused.value.detail


@given(st.text(max_size=12).filter(lambda s: s not in set(Status)), st.sampled_from(Trigger))
def test_a_status_outside_the_table_is_refused(source: str, trigger: Trigger) -> None:
    with pytest.raises(IllegalTransition):
        attempts.transition(source, trigger)


def test_final_statuses_allow_no_move() -> None:
    for final in (Status.FAILED, Status.CANCELLED, Status.ASSIGNED, Status.REPLIED):
        for trigger in Trigger:
            with pytest.raises(IllegalTransition):
                attempts.transition(final, trigger)
    # Delivered ends the send; only the debtor's answer moves it on.
    assert [t for t in Trigger if (Status.DELIVERED, t) in LEGAL] == [Trigger.REPLY]


@pytest.mark.parametrize(("current", "expected"), [
    ("sent", Trigger.REPLY_BEFORE_RECEIPT), ("delivered", Trigger.REPLY), ("replied", None), ("failed", None),
    ("scheduled", None), ("sending", None), ("unknown", None), ("no such status", None),
])
def test_an_answer_moves_a_sent_or_delivered_message_to_replied_once(current: str, expected: Trigger | None) -> None:
    assert attempts.reply_trigger(current) is expected


@pytest.mark.parametrize("trigger", list(Trigger))
def test_a_set_based_move_leaves_from_every_status_that_allows_it(trigger: Trigger) -> None:
    move = attempts.move(trigger)
    assert set(move.sources) == {source for source, t in LEGAL if t is trigger}
    assert {LEGAL[(source, trigger)] for source in move.sources} == {(move.target, move.event)}


def test_a_set_based_move_from_a_status_that_does_not_allow_it_is_refused() -> None:
    assert attempts.move(Trigger.DELIVERED, only_from=(Status.SENT,)).sources == (Status.SENT,)
    with pytest.raises(IllegalTransition):
        attempts.move(Trigger.DELIVERED, only_from=(Status.SCHEDULED,))


@pytest.mark.parametrize(("allowed", "later", "address", "provider", "expected"), [
    (True, False, True, True, Trigger.CLAIM),
    (True, False, False, True, Trigger.NO_ADDRESS),
    (True, False, True, False, Trigger.BLOCK),  # no provider for the channel: channel_not_configured
    (False, True, True, True, Trigger.RESCHEDULE),
    (False, True, False, False, Trigger.RESCHEDULE),  # blocked now: the address matters only once allowed
    (False, False, True, True, Trigger.BLOCK),
])
def test_the_claim_rechecks_a_due_attempt_under_the_contact_law(allowed: bool, later: bool, address: bool,
                                                               provider: bool, expected: Trigger) -> None:
    assert attempts.decide_due(allowed=allowed, allowed_later=later, has_address=address,
                               has_provider=provider) is expected
    assert attempts.transition(Status.SCHEDULED, expected)  # whatever it decides is a legal move


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
