"""Inbox retention's rules that need no database: the shortest retention settings take, and a replayed dead letter
addressed to the consumer that dead-lettered it (the horizon's check: tests/integration/test_inbox_retention.py)."""

import datetime as dt

import pytest
from pydantic import ValidationError

from recaudo_common.bus.base import Message, read_record, replayed_message
from recaudo_common.bus.inbox_retention import passed_by
from recaudo_common.settings import PlatformSettings

pytestmark = pytest.mark.unit
VALUE = (b'{"event_id": "6f1c1f3e-2f43-4d38-9a55-0b8f1f0e8a11", "type": "account.placed", "version": 1, '
         b'"occurred_at": "2026-12-01T12:00:00Z", "client": "banco", "key": "A-1", '
         b'"correlation_id": "6f1c1f3e-2f43-4d38-9a55-0b8f1f0e8a12", "payload": {}}')


def record(appended_at: dt.datetime | None, headers: dict[str, str] | None = None, *, fresh: bool = True) -> Message:
    return read_record("recaudo.account", b"A-1", VALUE, headers or {}, 7, appended_at, fresh=fresh)


def test_the_retention_outlives_the_dead_letters_or_is_off() -> None:
    assert PlatformSettings(inbox_retention_days=45).inbox_keep == dt.timedelta(days=45)
    assert PlatformSettings(inbox_retention_days=0).inbox_keep is None
    assert PlatformSettings().inbox_retention_days == 45
    with pytest.raises(ValidationError, match="shorter than the dead letters are kept"):
        PlatformSettings(inbox_retention_days=30)


def test_a_replayed_letter_is_for_the_consumer_that_dead_lettered_it() -> None:
    letter = read_record("recaudo.account.dlq", b"A-1", VALUE,
                         {"traceparent": "00-1-2-01", "recaudo-dlq-consumer": "outreach",
                          "recaudo-dlq-reason": "handler_failed:x"}, 3)
    replayed = replayed_message("recaudo.account", letter)
    assert replayed.headers == {"traceparent": "00-1-2-01", "recaudo-replay-for": "outreach"}
    back = read_record("recaudo.account", b"A-1", VALUE, replayed.headers, 9)
    assert not passed_by(back, "outreach")
    assert passed_by(back, "reporting")
    assert not passed_by(record(None), "reporting"), "an event as first published is everyone's"
