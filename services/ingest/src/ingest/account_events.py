"""The account.placed and account.updated envelopes of an upload's batch written straight to their JSON: the bytes
the event models would write (AccountPlaced(...).envelope(...) under the current cause, then model_dump_json),
without building and validating three pydantic models per row (#24; tests/unit prove the bytes equal)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import get_args

from pydantic import TypeAdapter
from pydantic_core import to_json

from ingest.domain.portfolio import Account
from recaudo_common.events import AccountPlaced, AccountUpdated, Channel, new_event_id
from recaudo_common.outbox import Cause, Serialised

# The payload's fields in the order the models write them (account.updated adds previous_balance at the end).
FIELDS = tuple(AccountPlaced.model_fields)
CHANNELS = frozenset(get_args(Channel))


def _dumps(value: object) -> str:
    """JSON as model_dump_json writes it (compact, UTF-8), by the same serializer: pydantic's, several times
    faster than the json module's on these small objects."""
    return to_json(value).decode()

_moment = TypeAdapter(dt.datetime)


class NotPlain(ValueError):
    """A value the fast path does not write the model's way: the caller builds that event through its model."""


def _plain(value: object) -> object:
    """A payload value as model_dump(mode="json") gives it, for the types an account's fields hold."""
    if value is None or type(value) in (str, int, bool):
        return value
    if type(value) is Decimal or isinstance(value, uuid.UUID):  # asyncpg's UUID is a uuid.UUID
        return str(value)
    if type(value) is dt.date:
        return value.isoformat()
    if type(value) is list and all(type(c) is str and c in CHANNELS for c in value):
        return value
    raise NotPlain(type(value).__name__)


def moment(occurred_at: dt.datetime) -> str:
    """occurred_at as the envelope writes it (computed once for a batch)."""
    return _moment.dump_json(occurred_at).decode()


def envelope(account: Account, *, portfolio_id: uuid.UUID, debtor_ref: uuid.UUID, personal: str,
             previous_balance: Decimal | None, client: str, occurred_at: str, cause: Cause | None) -> Serialised:
    """The event of one account as the outbox stores it: account.placed, or account.updated when the account had
    a balance before (`previous_balance`); the debtor as their pseudonym and their data sealed (`personal`), the
    file's other columns left out (#19). `occurred_at` from `moment`; NotPlain for a value of a type the models
    would write otherwise."""
    if type(account.days_past_due) is not int:
        raise NotPlain("days_past_due")
    values = {"account_ref": account.account_ref, "portfolio_id": portfolio_id, "debtor_ref": debtor_ref,
              "personal": personal, "has_phone": bool(account.phones), "has_email": bool(account.email),
              "city": account.city, "region": account.region, "product": account.product,
              "original_amount": account.original_amount, "balance": account.balance, "currency": account.currency,
              "due_date": account.due_date, "days_past_due": account.days_past_due, "as_of": account.as_of,
              "authorised_channels": account.authorised_channels, "last_payment_date": account.last_payment_date,
              "last_payment_amount": account.last_payment_amount}
    payload = {name: _plain(values[name]) for name in FIELDS}
    event_type, version = AccountPlaced.type, AccountPlaced.version
    if previous_balance is not None:
        payload["previous_balance"] = _plain(previous_balance)
        event_type, version = AccountUpdated.type, AccountUpdated.version
    event_id = new_event_id()
    key = f"{client}/{account.account_ref}" if account.account_ref else client
    correlation, causation = (cause.correlation_id, str(cause.causation_id)) if cause else (event_id, None)
    # The envelope's fields in Envelope's order; occurred_at is already JSON text, spliced in as it is.
    head = _dumps({"event_id": str(event_id), "type": event_type, "version": version})
    tail = _dumps({"client": client, "key": key, "correlation_id": str(correlation), "causation_id": causation,
                   "payload": payload})
    return Serialised(type=event_type, key=key, event_id=event_id,
                      envelope=f'{head[:-1]},"occurred_at":{occurred_at},{tail[1:]}')
