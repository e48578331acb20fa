"""The account events an upload writes without their models are byte for byte what the models write: account.placed
and account.updated, with and without a cause, on many generated accounts and on the edge cases (quotes, control
characters, accents and emoji, every Decimal form, missing optional values, dates of any year, channels)."""

import dataclasses
import datetime as dt
import random
import uuid
from decimal import Decimal
from typing import TypeVar

import pytest
from asyncpg.pgproto.pgproto import UUID as DatabaseUUID

from ingest import account_events
from ingest.domain.portfolio import Account
from ingest.handlers import NOT_IN_EVENTS
from recaudo_common.events import CHANNELS, AccountPlaced, AccountUpdated
from recaudo_common.events import envelope as envelope_module
from recaudo_common.outbox import Cause, caused

pytestmark = pytest.mark.unit
T = TypeVar("T")
TEXTS = ("", "a", "Bogotá", 'co"mi"llas', "back\\slash", "línea\nnueva\ttab\r", "\x00\x01\x1f\x7f", "€☃😀",
         "\u2028\u2029", "</script>", "ñandú " * 30, "a/b", "'")
DECIMALS = (Decimal("1500000.50"), Decimal("1E+3"), Decimal("0.01"), Decimal("999999999999.99"), Decimal("1.0E-10"),
            Decimal("100"), Decimal("-0"), Decimal("12.3400"))


def _text(rnd: random.Random) -> str:
    if rnd.random() < 0.5:
        return rnd.choice(TEXTS)
    return "".join(chr(rnd.choice((rnd.randint(32, 126), rnd.randint(0, 0x2FF), rnd.randint(0x1F600, 0x1F64F))))
                   for _ in range(rnd.randint(1, 20)))


def _maybe(rnd: random.Random, value: T) -> T | None:
    return value if rnd.random() < 0.6 else None


def _account(rnd: random.Random) -> Account:
    def date() -> dt.date:
        return dt.date(rnd.choice((1, 999, 1900, 2026, 9999)), rnd.randint(1, 12), rnd.randint(1, 28))

    def amount() -> Decimal:
        if rnd.random() < 0.3:
            return rnd.choice(DECIMALS)
        return Decimal(rnd.randint(1, 10**14)).scaleb(-rnd.randint(0, 4))

    return Account(
        account_ref=_text(rnd) or "A-1", debtor_id=_text(rnd), full_name=_text(rnd), balance=amount(),
        currency=rnd.choice(("COP", "MXN", "PEN")), days_past_due=rnd.randint(-365, 36500), as_of=date(),
        authorised_channels=rnd.sample(list(CHANNELS), rnd.randint(0, len(CHANNELS))),
        debtor_id_type=_maybe(rnd, "CC"), phones=rnd.choice(([], ["+573001234567"])),
        email=_maybe(rnd, "a@b.co"), address=_maybe(rnd, _text(rnd)), city=_maybe(rnd, _text(rnd)),
        region=_maybe(rnd, _text(rnd)), product=_maybe(rnd, _text(rnd)), original_amount=_maybe(rnd, amount()),
        due_date=_maybe(rnd, date()), last_payment_date=_maybe(rnd, date()),
        last_payment_amount=_maybe(rnd, amount()), extra=rnd.choice(({}, {"Ciudad 2": _text(rnd)})))


@pytest.mark.parametrize("seed", range(4))
def test_the_json_is_what_the_models_write(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rnd = random.Random(seed)
    ids: list[uuid.UUID] = []
    monkeypatch.setattr(account_events, "new_event_id", lambda: ids[-1])
    monkeypatch.setattr(envelope_module, "new_event_id", lambda: ids[-1])
    for i in range(2500):
        account = _account(rnd)
        portfolio_id = DatabaseUUID(str(uuid.uuid4()))  # as the database returns it
        debtor_ref = rnd.choice((uuid.uuid4(), DatabaseUUID(str(uuid.uuid4()))))
        personal = "v1." + _text(rnd)
        previous = rnd.choice(DECIMALS) if i % 3 == 0 else None
        cause = Cause(uuid.uuid4(), uuid.uuid4()) if i % 2 else None
        now = rnd.choice((dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC),
                          dt.datetime(2026, 3, 31, 15, 0, 0, 123, tzinfo=dt.UTC),
                          dt.datetime(2026, 3, 31, 10, 0, 0, 500000, tzinfo=dt.timezone(dt.timedelta(hours=-5)))))
        client = rnd.choice(("banco", "telco-mx"))
        ids.append(uuid.uuid4())
        fast = account_events.envelope(account, portfolio_id=portfolio_id, debtor_ref=debtor_ref, personal=personal,
                                       previous_balance=previous, client=client,
                                       occurred_at=account_events.moment(now), cause=cause)
        # What the worker did before #24, and still does for a value the fast path does not know.
        stated = {**{k: v for k, v in vars(account).items() if k not in NOT_IN_EVENTS},
                  "portfolio_id": portfolio_id, "debtor_ref": debtor_ref, "personal": personal,
                  "has_phone": bool(account.phones), "has_email": bool(account.email)}
        event = AccountPlaced(**stated) if previous is None else AccountUpdated(**stated, previous_balance=previous)
        model = caused(event.envelope(client=client, occurred_at=now), cause)
        assert fast.envelope == model.model_dump_json(), account
        assert (fast.type, fast.key, fast.event_id) == (model.type, model.key, model.event_id)


def test_values_it_does_not_know_are_left_to_the_models() -> None:
    account = _account(random.Random(9))
    for field, value in (("balance", 1.5), ("authorised_channels", ["fax"]), ("days_past_due", True),
                         ("as_of", dt.datetime(2026, 1, 1, tzinfo=dt.UTC))):
        with pytest.raises(account_events.NotPlain):
            account_events.envelope(dataclasses.replace(account, **{field: value}), portfolio_id=uuid.uuid4(),
                                    debtor_ref=uuid.uuid4(), personal="v1.x", previous_balance=None,
                                    client="banco", occurred_at='"x"', cause=None)


def test_an_accounts_stated_json_holds_what_json_dumps_with_str_held() -> None:
    """`stated` is kept through pydantic's serializer: for accounts as above (every Decimal form, dates, texts with
    quotes, control characters and emoji, channels, extra columns), the same JSON value json.dumps(...,
    default=str) gave, which the account's readers parse back."""
    import json

    from ingest.store import stated_json

    rnd = random.Random(7)
    for i in range(2500):
        account = _account(rnd)
        portfolio_id = DatabaseUUID(str(uuid.uuid4())) if i % 2 else uuid.uuid4()  # as the database returns it, or not
        kept = json.loads(stated_json(account, portfolio_id))
        assert kept == json.loads(json.dumps({**vars(account), "portfolio_id": portfolio_id}, default=str))
        assert kept["balance"] == str(account.balance) and kept["portfolio_id"] == str(portfolio_id)
