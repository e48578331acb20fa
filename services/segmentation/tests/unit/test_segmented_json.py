"""The account.segmented envelope segmentation writes without its models (segmented.serialised, #24) is byte for
byte what the models write through HandlerContext.emit (AccountSegmentedV2 caused by the account's event, then
model_dump_json), on many generated decisions and on the edge cases (quotes, control characters, accents and emoji,
every Decimal form, missing optional values, closed accounts, both arms); a value the models would coerce or refuse
is left to them (NotPlain)."""

import dataclasses
import datetime as dt
import random
import uuid
from decimal import Decimal

import pytest

from recaudo_common.events import CHANNELS, AccountPlaced, Envelope
from recaudo_common.events import envelope as envelope_module
from segmentation import segmented
from segmentation.domain.assignment import Assignment
from segmentation.domain.buckets import Bucket
from segmentation.domain.strategy import Offer, Strategy
from segmentation.domain.treatment import NO_RULE, STOPPED, Treatment
from segmentation.rows import Account, AssignmentInputs
from segmentation.segmented import Decision, NotPlain, moment, segmented_event, serialised

pytestmark = pytest.mark.unit
TEXTS = ("", "a", "Bogotá", 'co"mi"llas', "back\\slash", "línea\nnueva\ttab\r", "\x00\x01\x1f\x7f", "€☃😀",
         "\u2028\u2029", "</script>", "ñandú " * 30, "a/b", "'")
DECIMALS = (Decimal("1500000.50"), Decimal("1E+3"), Decimal("0.01"), Decimal("999999999999.99"), Decimal("1.0E-10"),
            Decimal("100"), Decimal("-0"), Decimal("12.3400"), Decimal("0E-8"), Decimal("0.4123"))
# The account's event the decision answers (its payload plays no part).
CAUSE = Envelope(event_id=uuid.uuid4(), type=AccountPlaced.type, version=AccountPlaced.version,
                 occurred_at=dt.datetime(2026, 3, 4, 15, tzinfo=dt.UTC), client="banco", key="banco/A-1",
                 correlation_id=uuid.uuid4(), causation_id=uuid.uuid4(), payload={})


def _text(rnd: random.Random) -> str:
    if rnd.random() < 0.5:
        return rnd.choice(TEXTS)
    return "".join(chr(rnd.choice((rnd.randint(32, 126), rnd.randint(0, 0x2FF), rnd.randint(0x1F600, 0x1F64F))))
                   for _ in range(rnd.randint(1, 20)))


def _amount(rnd: random.Random) -> Decimal:
    if rnd.random() < 0.3:
        return rnd.choice(DECIMALS)
    return Decimal(rnd.randint(0, 10**14)).scaleb(-rnd.randint(0, 4))


def _decision(rnd: random.Random) -> Decision:
    day = dt.date(rnd.choice((1, 2026, 9999)), rnd.randint(1, 12), rnd.randint(1, 28))
    account = Account(client_slug="banco", account_ref=_text(rnd) or "A-1", balance=_amount(rnd), status="open",
                      days_past_due_at_as_of=rnd.randint(-365, 36500), as_of=day, days_past_due_at_placement=None,
                      contactable=rnd.random() < 0.5, held_since=None, legal_hold=None)
    treatment = rnd.choice((NO_RULE, STOPPED, Treatment(_text(rnd), tuple(rnd.sample(sorted(CHANNELS),
                                                                                       rnd.randint(0, 3))), 2)))
    offer = rnd.choice((Offer(), Offer("settlement", _amount(rnd)), Offer("instalment_plan", instalments=6),
                        Offer("do_not_pursue")))
    result = Assignment(_text(rnd), _text(rnd), _text(rnd), treatment, rnd.randint(0, 30), offer, _amount(rnd),
                        _amount(rnd), _amount(rnd), _text(rnd))
    bucket = Bucket(_text(rnd), rnd.randint(-365, 0), rnd.randint(1, 36500))
    arm = rnd.choice(("champion", "challenger"))
    inputs = AssignmentInputs(1, account.balance, True, "open", day, "high", arm, 1, offer.kind, "scorecard-v1")
    return Decision(account, _text(rnd), rnd.randint(-365, 36500), day, rnd.random() < 0.5, bucket, _text(rnd),
                    Strategy(rnd.randint(0, 10**6), ()), arm, _text(rnd), result, inputs)


def _by_models(d: Decision, at_placement: str, now: dt.datetime, cause: Envelope) -> str:
    """What ctx.emit(segmented_event(...)) writes to the outbox: the envelope under its cause, as JSON."""
    envelope: Envelope = segmented_event(d, at_placement).envelope(client=cause.client, occurred_at=now,
                                                                   causation=cause)
    return envelope.model_dump_json()


def test_written_envelopes_equal_the_models_byte_for_byte(monkeypatch: pytest.MonkeyPatch) -> None:
    rnd = random.Random(24)
    for _ in range(500):
        d = _decision(rnd)
        at_placement = _text(rnd)
        now = dt.datetime(2026, 3, 4, 15, rnd.randint(0, 59), rnd.randint(0, 59), rnd.choice((0, 123_457)),
                          tzinfo=rnd.choice((dt.UTC, dt.timezone(dt.timedelta(hours=-5)))))
        event_id = uuid.uuid4()
        monkeypatch.setattr(segmented, "new_event_id", lambda: event_id)  # noqa: B023 - called in this iteration
        monkeypatch.setattr(envelope_module, "new_event_id", lambda: event_id)  # noqa: B023
        fast = serialised(d, at_placement, client=CAUSE.client, occurred_at=moment(now), causation=CAUSE)
        assert fast.envelope == _by_models(d, at_placement, now, CAUSE)
        assert (fast.type, fast.key, fast.event_id) == ("account.segmented", f"banco/{d.account.account_ref}",
                                                        event_id)


@pytest.mark.parametrize("change", [
    {"propensity": Decimal("NaN")}, {"expected_net_recovery": Decimal("Infinity")},
    {"treatment": Treatment("x", ("pigeon",), 1)}, {"cadence_days": True}, {"why": 3}])
def test_a_value_the_models_would_coerce_or_refuse_is_left_to_them(change: dict[str, object]) -> None:
    d = _decision(random.Random(1))
    d = dataclasses.replace(d, result=dataclasses.replace(d.result, **change))
    with pytest.raises(NotPlain):
        serialised(d, "1-30", client="banco", occurred_at=moment(dt.datetime.now(dt.UTC)), causation=CAUSE)


def test_an_arm_outside_the_events_values_is_left_to_the_models() -> None:
    d = dataclasses.replace(_decision(random.Random(2)), arm="neither")
    with pytest.raises(NotPlain):
        serialised(d, "1-30", client="banco", occurred_at=moment(dt.datetime.now(dt.UTC)), causation=CAUSE)
