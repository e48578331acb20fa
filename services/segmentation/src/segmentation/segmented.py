"""account.segmented as segmentation emits it: a decision's event, and on the consumer's hot path its envelope
written straight to JSON, the bytes the models would write (AccountSegmentedV2(...).envelope(...) caused by the
account's event, then model_dump_json) without building and validating three pydantic models per account: they
were a quarter of segmentation's CPU on a placement in the pipeline (#24; tests/unit prove the bytes equal)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, get_args

from pydantic import TypeAdapter
from pydantic_core import to_json

from recaudo_common.events import AccountSegmentedV2, Channel, Envelope, new_event_id
from recaudo_common.outbox import Serialised
from segmentation.domain.assignment import Assignment
from segmentation.domain.buckets import Bucket
from segmentation.domain.strategy import Strategy
from segmentation.rows import Account, AssignmentInputs


@dataclass(frozen=True)
class Decision:
    """One account's assignment and the inputs it was made from, before it is recorded."""

    account: Account
    trigger: str
    days_past_due: int
    as_of: dt.date  # the client company's day days_past_due is for
    aging_held: bool  # they stand still from it (a plan, or a closed account)
    bucket: Bucket
    bucket_at_placement: str
    strategy: Strategy
    arm: Literal["champion", "challenger"]
    model_version: str
    result: Assignment
    inputs: AssignmentInputs


def _values(d: Decision, bucket_at_placement: str) -> dict[str, object]:
    """The event's fields as the decision gives them, by name (AccountSegmentedV2's)."""
    result = d.result
    return {
        "account_ref": d.account.account_ref, "days_past_due": d.days_past_due, "bucket": d.bucket.label,
        "bucket_low": d.bucket.low, "bucket_high": d.bucket.high, "as_of": d.as_of, "aging_held": d.aging_held,
        "bucket_at_placement": bucket_at_placement, "segment": result.segment, "treatment": result.treatment.name,
        "channels": list(result.treatment.channels), "propensity": result.propensity,
        "cost_to_collect": result.cost_to_collect, "expected_net_recovery": result.expected_net_recovery,
        "strategy_version": d.strategy.version, "strategy_arm": d.arm, "model_version": d.model_version,
        "why": result.why, "trigger": d.trigger, "value_tier": result.tier, "cadence_days": result.cadence_days,
        "offer": result.offer.kind, "offer_discount_pct": result.offer.discount_pct,
        "offer_instalments": result.offer.instalments}


def segmented_event(d: Decision, bucket_at_placement: str) -> AccountSegmentedV2:
    return AccountSegmentedV2.model_validate(_values(d, bucket_at_placement))


class NotPlain(ValueError):
    """A value the fast path does not write the model's way: the caller builds that event through its model (which
    refuses it, or writes it as it always did)."""


def _kinds(annotation: object) -> frozenset[object]:
    """What a field takes: its plain types (str, int, bool, Decimal, date; NoneType when optional), the values
    of its Literal, or `list` for the channels."""
    if annotation in (str, int, bool, Decimal, dt.date, type(None)):
        return frozenset({annotation})
    if annotation == list[Channel]:
        return frozenset({list})
    kinds: set[object] = set()
    for arg in get_args(annotation):
        kinds |= {arg} if isinstance(arg, str) else _kinds(arg)
    return frozenset(kinds)


# The payload's fields in the order the model writes them, with what each takes.
FIELDS = {name: _kinds(field.annotation) for name, field in AccountSegmentedV2.model_fields.items()}
CHANNELS = frozenset(get_args(Channel))
_moment = TypeAdapter(dt.datetime)


def _plain(kinds: frozenset[object], value: object) -> object:
    """A payload value as model_dump(mode="json") gives it; NotPlain for a value of another type than its field's
    (which validation would coerce or refuse). Checked by exact type, the commonest first: it runs for each field
    of each account."""
    kind = type(value)
    if kind is str:
        if str in kinds or value in kinds:  # a plain text, or one of its Literal's values
            return value
    elif kind is int or kind is bool or value is None:
        if kind in kinds:
            return value
    elif type(value) is Decimal:
        if Decimal in kinds and value.is_finite():  # the model refuses NaN and infinities
            return str(value)
    elif type(value) is dt.date:
        if dt.date in kinds:
            return value.isoformat()
    elif type(value) is list and list in kinds and all(type(c) is str and c in CHANNELS for c in value):
        return value
    raise NotPlain(kind.__name__)


def moment(occurred_at: dt.datetime) -> str:
    """occurred_at as the envelope writes it."""
    return _moment.dump_json(occurred_at).decode()


def serialised(d: Decision, bucket_at_placement: str, *, client: str, occurred_at: str,
               causation: Envelope) -> Serialised:
    """The decision's account.segmented as the outbox stores it, caused by `causation` (the account's event) as
    HandlerContext.emit would write it; `occurred_at` from `moment`. NotPlain for a value the model would write
    otherwise, or refuse."""
    values = _values(d, bucket_at_placement)
    payload = {name: _plain(kinds, values[name]) for name, kinds in FIELDS.items()}
    event_id = new_event_id()
    ref = d.account.account_ref
    key = f"{client}/{ref}" if ref else client
    # The envelope's fields in Envelope's order; occurred_at is already JSON text, spliced in as it is.
    head = to_json({"event_id": str(event_id), "type": AccountSegmentedV2.type,
                    "version": AccountSegmentedV2.version}).decode()
    tail = to_json({"client": client, "key": key, "correlation_id": str(causation.correlation_id),
                    "causation_id": str(causation.event_id), "payload": payload}).decode()
    return Serialised(type=AccountSegmentedV2.type, key=key, event_id=event_id,
                      envelope=f'{head[:-1]},"occurred_at":{occurred_at},{tail[1:]}')
