"""The debtor page's lockout against a real PostgreSQL: a flood of guesses (1,200 under `make test`, 10,000 under
`make test-full`), one after another or in concurrent bursts, waiting out every lock, cannot pass the identity
question; the counters are exact under concurrency; a source address that sweeps many accounts waits; an operator's
new link lifts a blocked page. The page speaks Spanish."""

import asyncio
import datetime as dt
import re

import pytest

from outreach import debtor_guard
from outreach.debtor_page.handlers import DebtorView, debtor_view
from outreach.domain.verification import LINK_MAX_FAILURES
from recaudo_common.testing import sized

from .conftest import Outreach, segmented

pytestmark = pytest.mark.integration
HTML = {"Accept": "text/html"}
ANSWER = "304050"  # the last six digits of the debtor's ID, 1020304050
GUESSES = sized(1_200, 10_000)
# Each burst after the first gets one answer looked at (then the link waits): 12 bursts (20 full) pass the ten.
BURST = sized(100, 500)


async def link(o: Outreach, ref: str, key: str | None = None) -> str:
    headers = {"Authorization": f"Bearer {key}"} if key else o.auth
    answer = await o.http.post(f"/v1/clients/banco/accounts/{ref}/payment-link", headers=headers)
    assert answer.status_code == 201
    return str(answer.json()["url"]).removeprefix(o.settings.public_url)


async def view_of(o: Outreach, path: str) -> DebtorView:
    view = await debtor_view(o.platform.db, o.settings, path.removeprefix("/pay/"), o.clock.now)
    assert view is not None
    return view


async def counters(o: Outreach, ref: str) -> tuple[int, int]:
    [(failures,)] = await o.sql("SELECT failures FROM outreach.page_link_guards WHERE account_ref = :r", r=ref)
    [(audited,)] = await o.sql("SELECT count(*) FROM outreach.trail WHERE account_ref = :r "
                               "AND kind = 'page_verification_failed'", r=ref)
    return failures, audited


def guesses(count: int) -> list[str]:
    """`count` distinct wrong-or-right six-digit answers with the right one far from the start (in the middle)."""
    first = int(ANSWER) - count // 2
    values = [f"{n:06d}" for n in range(first, first + count)]
    assert ANSWER in values[LINK_MAX_FAILURES:]
    return values


async def test_guesses_one_after_another_never_pass(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("L-1"), segmented("L-1"))
    view = await view_of(outreach, await link(outreach, "L-1"))
    outcomes: dict[str, int] = {}
    for n, guess in enumerate(guesses(GUESSES)):
        # The attacker waits out every lock (then tries the same guess again) and changes address every time:
        # only the link's own limit is left.
        while True:
            checked = await debtor_guard.verify(outreach.platform.db, view, guess, source=f"10.{n // 250}.{n % 250}",
                                                now=outreach.clock.now)
            outcomes[checked.outcome] = outcomes.get(checked.outcome, 0) + 1
            if checked.outcome != "locked":
                break
            assert checked.retry_at is not None and checked.retry_at > outreach.clock.now
            outreach.clock.now = checked.retry_at
    assert "verified" not in outcomes
    assert outcomes["wrong"] == LINK_MAX_FAILURES - 1  # the tenth wrong answer blocks; the rest are not looked at
    assert outcomes["blocked"] == GUESSES - LINK_MAX_FAILURES + 1
    assert await counters(outreach, "L-1") == (LINK_MAX_FAILURES, LINK_MAX_FAILURES)  # exactly ten looked at


async def test_guesses_in_concurrent_bursts_never_pass_and_are_counted_exactly(
        outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("L-2"), segmented("L-2"))
    view = await view_of(outreach, await link(outreach, "L-2"))
    wrong = [g for g in guesses(GUESSES) if g != ANSWER]
    seen: dict[str, int] = {}
    for start in range(0, len(wrong), BURST):
        burst = wrong[start:start + BURST]
        results = await asyncio.gather(*(debtor_guard.verify(outreach.platform.db, view, g, source=f"s{start + i}",
                                                             now=outreach.clock.now)
                                         for i, g in enumerate(burst)))
        for r in results:
            seen[r.outcome] = seen.get(r.outcome, 0) + 1
        # Whatever arrived at once, each answer looked at was counted once: the counter is the audit trail's.
        failures, audited = await counters(outreach, "L-2")
        assert failures == audited == min(seen.get("wrong", 0) + 1, LINK_MAX_FAILURES) or failures == seen["wrong"]
        waits = [r.retry_at for r in results if r.retry_at is not None]
        outreach.clock.now = max([outreach.clock.now, *waits]) + dt.timedelta(seconds=1)
    assert "verified" not in seen
    assert await counters(outreach, "L-2") == (LINK_MAX_FAILURES, LINK_MAX_FAILURES)
    assert seen["wrong"] == LINK_MAX_FAILURES - 1  # the tenth wrong answer is told "blocked"
    right = await debtor_guard.verify(outreach.platform.db, view, ANSWER, source="elsewhere", now=outreach.clock.now)
    assert right.outcome == "blocked"  # even the right answer, now: the page is closed until a new link


async def test_a_concurrent_burst_counts_exactly_the_free_tries(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("L-3"), segmented("L-3"))
    view = await view_of(outreach, await link(outreach, "L-3"))
    results = await asyncio.gather(*(debtor_guard.verify(outreach.platform.db, view, f"{n:06d}", source=f"s{n}",
                                                         now=outreach.clock.now) for n in range(200)))
    outcomes = [r.outcome for r in results]
    # Three typos are free; the third sets a one-minute wait that every other answer of the burst meets.
    assert outcomes.count("wrong") == 3 and outcomes.count("locked") == 197
    assert await counters(outreach, "L-3") == (3, 3)


async def test_the_page_says_in_spanish_how_long_to_wait_then_blocks_until_an_operator_reissues(
        outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("L-4"), segmented("L-4"))
    path = await link(outreach, "L-4")
    for _ in range(3):
        wrong = await outreach.http.post(path, data={"digits": "000000"}, headers=HTML)
        assert wrong.status_code == 403 and "Los dígitos no coinciden" in wrong.text
    waiting = await outreach.http.post(path, data={"digits": ANSWER}, headers=HTML)
    assert waiting.status_code == 429 and "Inténtelo de nuevo en 1 minuto." in waiting.text
    assert waiting.headers["retry-after"] == "60"
    for _ in range(LINK_MAX_FAILURES - 3):
        outreach.clock.now += dt.timedelta(days=1)
        await outreach.http.post(path, data={"digits": "000000"}, headers=HTML)
    outreach.clock.now += dt.timedelta(days=1)
    blocked = await outreach.http.post(path, data={"digits": ANSWER}, headers=HTML)
    assert blocked.status_code == 423 and "Pida uno nuevo a su asesor" in blocked.text
    # A client key's new link does not lift it; an operator's does, and the debtor gets in at once.
    client_path = await link(outreach, "L-4", outreach.client_key)
    assert (await outreach.http.post(client_path, data={"digits": ANSWER}, headers=HTML)).status_code == 423
    fresh = await link(outreach, "L-4")
    page = await outreach.http.post(fresh, data={"digits": ANSWER}, headers=HTML)
    assert page.status_code == 200 and "Hola, María" in page.text
    assert re.search(r'name="proof" value="[^"]+"', page.text)
    sources = [r[0] for r in await outreach.sql("SELECT source FROM outreach.page_source_guards")]
    assert sources and all(re.fullmatch(r"[0-9a-f]{32}", s) for s in sources)  # a keyed hash, never the address


async def test_one_address_sweeping_many_accounts_waits_and_others_do_not(outreach: Outreach) -> None:
    refs = [f"S-{i}" for i in range(12)]
    for i, ref in enumerate(refs):
        await outreach.deliver(await outreach.placed(ref, debtor=f"55{i:02d}123456"), segmented(ref))
    views = [await view_of(outreach, await link(outreach, ref)) for ref in refs]
    sweeper = debtor_guard.source_key("203.0.113.9", outreach.settings.link_secret)
    outcomes = [(await debtor_guard.verify(outreach.platform.db, v, "000000", source=sweeper,
                                           now=outreach.clock.now)).outcome for v in views]
    # One wrong answer per account (no link near its limit), but the address passed its ten free failures.
    assert outcomes[:10] == ["wrong"] * 10 and outcomes[10:] == ["locked", "locked"]
    other = await debtor_guard.verify(outreach.platform.db, views[11], "000000",
                                      source=debtor_guard.source_key("198.51.100.7", outreach.settings.link_secret),
                                      now=outreach.clock.now)
    assert other.outcome == "wrong"
    # The address's wait doubles, and after a quiet day its count starts over.
    outreach.clock.now += dt.timedelta(seconds=3)
    assert (await debtor_guard.verify(outreach.platform.db, views[10], "000000", source=sweeper,
                                      now=outreach.clock.now)).outcome == "wrong"
    assert (await debtor_guard.verify(outreach.platform.db, views[10], "000000", source=sweeper,
                                      now=outreach.clock.now)).outcome == "locked"
    outreach.clock.now += dt.timedelta(days=1, minutes=1)
    assert (await debtor_guard.verify(outreach.platform.db, views[9], "000000", source=sweeper,
                                      now=outreach.clock.now)).outcome == "wrong"
