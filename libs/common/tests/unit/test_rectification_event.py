"""account.contact_rectified names who corrected the contact points by the id of their key or user, never by an
e-mail or a name, and carries no operator's words: the account topic and its dead letters are kept where no erasure
reaches (the reason stays with ingest's rectification record)."""

import datetime as dt
import uuid

import pytest
from pydantic import ValidationError

from recaudo_common.events import AccountContactRectified, decode

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 4, 1, 15, tzinfo=dt.UTC)
FIELDS = {"account_ref": "A-1", "debtor_ref": uuid.uuid4(), "personal": "v1.x.y", "has_phone": True,
          "has_email": False, "fields": ["phones"], "rectified_at": NOW}


@pytest.mark.parametrize("by", ["dpo@agencia.co", "user maria.lopez@agencia.co", "María López", "operator",
                                "key:0193a6f2-7c4e-7d1a-9b2c-3d4e5f607182 (maria@agencia.co)"])
def test_the_event_refuses_anything_but_a_key_or_users_id_for_who(by: str) -> None:
    with pytest.raises(ValidationError) as refused:
        AccountContactRectified(**FIELDS, rectified_by=by, reason="solicitud del titular")
    assert [e["loc"] for e in refused.value.errors()] == [("rectified_by",)]


def test_who_is_a_key_or_a_user_by_id_and_no_reason_is_needed() -> None:
    key, user = uuid.uuid4(), uuid.uuid4()
    for by in (f"key:{key}", f"user:{user}"):
        event = AccountContactRectified(**FIELDS, rectified_by=by)
        assert (event.rectified_by, event.reason) == (by, None)
        assert decode(event.envelope(client="banco", occurred_at=NOW)) == event
    # An event published before, with its reason, still decodes.
    old = AccountContactRectified(**FIELDS, rectified_by=f"key:{key}", reason="solicitud del titular")
    assert decode(old.envelope(client="banco", occurred_at=NOW)) == old
