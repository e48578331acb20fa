"""A consumer's subscriber decodes each record of the types it reads as it reads it, in one pass (#24): the envelope
and the event are the ones Envelope.model_validate_json then decode give, for generated events of every type and
version the platform registers (upcasts included); records of the types it does not read are passed over unread,
and anything else is read the usual way, with the same fault."""

from __future__ import annotations

import datetime as dt
import json
import types
import typing
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from recaudo_common.bus.base import read_record
from recaudo_common.bus.consumer import ConsumerRuntime, Subscriptions
from recaudo_common.events import (
    REGISTRY,
    AccountPlaced,
    AccountPlacedV1,
    AccountRecalled,
    AccountUpdated,
    Envelope,
    Event,
    decode,
)

pytestmark = pytest.mark.unit
NOW = dt.datetime(2026, 3, 5, 14, 0, tzinfo=dt.UTC)
KINDS = sorted(REGISTRY.items())


def values(annotation: Any) -> st.SearchStrategy[Any]:
    """Values of a field's type; money finite (a model refuses the rest), models and lists of them field by field."""
    if annotation is Decimal:
        return st.decimals(min_value=-10**9, max_value=10**9, places=2)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return st.one_of(*(values(arg) for arg in typing.get_args(annotation)))
    if typing.get_origin(annotation) is list:
        return st.lists(values(typing.get_args(annotation)[0]), max_size=3)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return fields_of(annotation)
    return st.from_type(annotation)


def field_values(field: FieldInfo) -> st.SearchStrategy[Any]:
    """Values of a field: of its type, or text its pattern matches (account.contact_rectified's rectified_by)."""
    pattern = next((m.pattern for m in field.metadata if isinstance(getattr(m, "pattern", None), str)), None)
    return st.from_regex(pattern, fullmatch=True) if pattern else values(field.annotation)


def fields_of(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    """A model's fields: each required one, and any of those with a default (its bounds left to the default)."""
    fields = model.model_fields
    return st.fixed_dictionaries({name: field_values(f) for name, f in fields.items() if f.is_required()},
                                 optional={name: field_values(f) for name, f in fields.items()
                                           if not f.is_required()})


def record(cls: type[Event], fields: dict[str, Any]) -> bytes:
    """The record the platform writes for an event of `cls` with these fields (if its model takes them)."""
    try:
        event = cls.model_validate(fields)
    except ValidationError:
        assume(False)
        raise
    return event.envelope(client="banco", occurred_at=NOW, causation=None).model_dump_json().encode()


@pytest.mark.parametrize(("kind", "cls"), KINDS, ids=[f"{t}-v{v}" for (t, v), _ in KINDS])
@settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_a_read_type_is_decoded_as_decode_decodes_it(kind: tuple[str, int], cls: type[Event], data: Any) -> None:
    raw = record(cls, data.draw(fields_of(cls)))
    usual = read_record("recaudo.x", b"banco/A-1", raw, {}, 7)
    read = read_record("recaudo.x", b"banco/A-1", raw, {}, 7, reads=frozenset({kind[0]}))
    event = decode(usual.envelope)
    assert read.fault is None and read.event is not None
    assert type(read.event) is type(event) and read.event == event  # fields and private ones (an upcast's plaintext)
    assert read.event.model_dump_json() == event.model_dump_json()
    assert read.envelope.model_dump(exclude={"payload"}) == usual.envelope.model_dump(exclude={"payload"})
    assert read.envelope.model_dump_json().encode() == raw  # a dead letter or a replay writes the same envelope
    assert decode(read.envelope) == event
    assert (read.topic, read.key, read.raw, read.position) == (usual.topic, usual.key, usual.raw, usual.position)


def placed_v1() -> AccountPlacedV1:
    return AccountPlacedV1.model_validate({
        "account_ref": "A-1", "portfolio_id": str(uuid.uuid4()), "debtor_id": "1020304050", "debtor_id_type": "CC",
        "full_name": "Ana Gómez", "phones": ["+573001234567"], "email": None, "address": None,
        "balance": "1500.50", "currency": "COP", "days_past_due": 45, "as_of": "2026-03-05",
        "authorised_channels": ["sms"]})


def test_an_older_version_is_upcast_as_it_is_read() -> None:
    raw = placed_v1().envelope(client="banco", occurred_at=NOW).model_dump_json().encode()
    read = read_record("recaudo.account", b"banco/A-1", raw, {}, 1, reads=frozenset({"account.placed"}))
    assert isinstance(read.event, AccountPlaced) and read.envelope.version == 1
    assert read.event.legacy_personal is not None and read.event.legacy_personal.full_name == "Ana Gómez"
    assert read.event == decode(read_record("recaudo.account", b"banco/A-1", raw, {}, 1).envelope)


def test_only_a_statement_upcast_with_its_plaintext_carries_a_private_attribute() -> None:
    # A private attribute makes every validation of the model call into Python (#24): statements have none.
    assert not AccountPlaced.__private_attributes__ and not AccountUpdated.__private_attributes__
    sealed = placed_v1().model_copy(update={"debtor_ref": uuid.uuid4(), "personal": "v1.nonce.ciphertext"})
    upcast = decode(sealed.envelope(client="banco", occurred_at=NOW))
    assert type(upcast) is AccountPlaced and upcast.legacy_personal is None
    plain = decode(placed_v1().envelope(client="banco", occurred_at=NOW))
    assert isinstance(plain, AccountPlaced) and plain.legacy_personal is not None
    assert plain.model_dump() == AccountPlaced.model_validate(plain.model_dump()).model_dump()  # nothing else rides


def placed_json(**changes: Any) -> dict[str, Any]:
    event = AccountPlaced(account_ref="A-1", portfolio_id=uuid.uuid4(), debtor_ref=None, personal=None,
                          has_phone=False, has_email=False, balance=Decimal("10.00"), currency="COP",
                          days_past_due=4, as_of=NOW.date(), authorised_channels=["sms"])
    data: dict[str, Any] = json.loads(event.envelope(client="banco", occurred_at=NOW).model_dump_json())
    return {**data, **changes}


def compact(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


READS = frozenset({"account.placed"})


@pytest.mark.parametrize(("value", "fault"), [
    (compact(placed_json())[:150], "not_json"),
    (compact(placed_json(occurred_at="ayer")), "not_an_envelope"),
    (compact(placed_json(payload=[1, 2])), "not_an_envelope"),
    (compact(placed_json(client=None)), "not_an_envelope"),
], ids=["truncated", "bad-occurred-at", "payload-not-object", "client-null"])
def test_a_record_of_a_read_type_that_is_no_envelope_has_the_usual_fault(value: bytes, fault: str) -> None:
    assert read_record("recaudo.account", b"banco/A-1", value, {}, 1).fault == fault
    read = read_record("recaudo.account", b"banco/A-1", value, {}, 1, reads=READS)
    assert (read.fault, read.event) == (fault, None)


@pytest.mark.parametrize("value", [
    compact(placed_json(version=99)),  # no such version: unknown_event_version, as decode says
    compact(placed_json(payload={"account_ref": 5})),  # its model refuses it: invalid_payload
    compact(placed_json(type="account.exploded")),  # no such type: unknown_event_type
    compact(placed_json())[:-1] + b',"type":"account.exploded"}',  # the type given twice: the last one counts
], ids=["unknown-version", "invalid-payload", "unknown-type", "type-twice"])
def test_an_envelope_its_reader_cannot_decode_is_read_the_usual_way(value: bytes) -> None:
    usual = read_record("recaudo.account", b"banco/A-1", value, {}, 1)
    read = read_record("recaudo.account", b"banco/A-1", value, {}, 1, reads=READS)
    assert read.event is None and read.fault is None and type(read.envelope) is Envelope
    assert read.envelope == usual.envelope


def runtime(subscriptions: Subscriptions) -> ConsumerRuntime:
    return ConsumerRuntime(None, None, subscriptions, "recaudo", lambda: NOW)  # type: ignore[arg-type]


async def on_placed(event: AccountPlaced, ctx: Any) -> None: ...


def test_the_runtime_takes_the_event_decoded_and_passes_over_the_types_it_does_not_read() -> None:
    subs = Subscriptions("reports", "reports", {AccountPlaced: on_placed})
    assert subs.types() == {"account.placed"}
    placed = compact(placed_json())
    read = read_record("recaudo.account", b"banco/A-1", placed, {}, 1, reads=subs.types())
    handler, event, poison = runtime(subs)._decode(read)
    assert (handler, poison) == (on_placed, None) and event is read.event
    # Another type the platform knows: not parsed at all, its envelope a stand-in naming it; ignored, as before.
    recalled = AccountRecalled(account_ref="A-1", recalled_at=NOW).envelope(client="banco", occurred_at=NOW)
    for value in (recalled.model_dump_json().encode(), recalled.model_dump_json().encode()[:120]):
        passed = read_record("recaudo.account", b"banco/A-1", value, {}, 2, reads=subs.types())
        assert (passed.fault, passed.event, passed.envelope.type) == (None, None, "account.recalled")
        assert passed.raw == value  # a dead letter of it, should any consumer write one, keeps it byte for byte
        assert runtime(subs)._decode(passed) == (None, None, None)
    # A type no version of the platform's knows is read, and dead-lettered, as before.
    unknown = read_record("recaudo.account", b"banco/A-1", compact(placed_json(type="account.exploded")), {}, 3,
                          reads=subs.types())
    assert runtime(subs)._decode(unknown)[2].fault == "unknown_event_type"  # type: ignore[union-attr]


def test_handlers_are_found_by_type_the_first_class_of_a_type_first() -> None:
    async def other(event: AccountPlacedV1, ctx: Any) -> None: ...
    subs = Subscriptions("reports", "reports", {AccountPlaced: on_placed, AccountPlacedV1: other})
    assert subs.handler_for("account.placed") is on_placed
    assert subs.handler_for("account.recalled") is None and subs.batch_handler_for("account.placed") is None
