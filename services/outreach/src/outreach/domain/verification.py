"""The debtor page's identity question and its lockout: how much of the ID is asked, and how long a link or a
source address waits after wrong answers. Pure rules; debtor_guard.py keeps the counters.

The answer is the last six characters of the debtor's ID (a million combinations for a numeric ID). A link (one
account's page, whatever message carried it) takes at most LINK_MAX_FAILURES wrong answers in its whole life,
with waits doubling after the first few; then it is blocked until an operator issues a new link. So at most
10 guesses in 10^6 can be tried against an account: one chance in 100,000. A source address waits after many
wrong answers across all links, doubling, so one machine cannot sweep many accounts either."""

from __future__ import annotations

import datetime as dt
import hmac

ID_CHARACTERS = 6
LINK_FREE_FAILURES = 3  # typos: no wait
LINK_MAX_FAILURES = 10  # then blocked for good, until an operator re-issues the link
LINK_FIRST_WAIT = dt.timedelta(minutes=1)
SOURCE_FREE_FAILURES = 10
SOURCE_FIRST_WAIT = dt.timedelta(seconds=2)
SOURCE_LONGEST_WAIT = dt.timedelta(hours=1)
SOURCE_FORGETS_AFTER = dt.timedelta(hours=24)  # a source's failures count again from zero after a quiet day


def expected_answer(debtor_id: str) -> str:
    """The last ID_CHARACTERS letters and digits of the ID (the whole ID when it is shorter), upper case."""
    return "".join(c for c in debtor_id if c.isalnum()).upper()[-ID_CHARACTERS:]


def answer_matches(debtor_id: str, answer: str) -> bool:
    expected = expected_answer(debtor_id)
    given = "".join(answer.split()).upper()
    return bool(expected) and hmac.compare_digest(expected.encode(), given.encode())  # bytes: any text compares


def link_wait(failures: int) -> dt.timedelta:
    """How long a link waits after its `failures`-th wrong answer (before the last one, which blocks it)."""
    if failures < LINK_FREE_FAILURES:
        return dt.timedelta(0)
    return LINK_FIRST_WAIT * int(2 ** (failures - LINK_FREE_FAILURES))


def source_wait(failures: int) -> dt.timedelta:
    if failures < SOURCE_FREE_FAILURES:
        return dt.timedelta(0)
    return min(SOURCE_FIRST_WAIT * int(2 ** min(failures - SOURCE_FREE_FAILURES, 20)), SOURCE_LONGEST_WAIT)
