"""Property tests of the compliance engine over random instants, countries, channels and contact histories:
an allowed contact really is inside the law's window, `next_allowed_at` is an instant that is allowed and comes
later, more history never turns a refusal into an allowance, and a block (opt-out, do-not-contact, legal hold)
has no next instant at all."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.domain.contact_law import RULES, ContactRequest, PastContact, decide_contact, is_holiday

pytestmark = pytest.mark.unit
ZONES = {"CO": "America/Bogota", "PE": "America/Lima", "MX": "America/Mexico_City", "US": "America/New_York",
         "AR": "America/Argentina/Buenos_Aires"}
CHANNELS = ("sms", "email", "whatsapp", "voice", "agent", "letter")
instants = st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 31),
                        timezones=st.just(dt.UTC))


@st.composite
def requests(draw: st.DrawFn) -> ContactRequest:
    country = draw(st.sampled_from(sorted(ZONES)))
    at = draw(instants)
    history = tuple(PastContact(at - dt.timedelta(minutes=draw(st.integers(1, 60 * 24 * 10))),
                                draw(st.sampled_from(CHANNELS)), conversation=draw(st.booleans()))
                    for _ in range(draw(st.integers(0, 6))))
    return ContactRequest(country=country, timezone=ZONES[country], channel=draw(st.sampled_from(CHANNELS)), at=at,
                          authorised_channels=CHANNELS, history=history)


def with_at(req: ContactRequest, at: dt.datetime) -> ContactRequest:
    return ContactRequest(req.country, req.timezone, req.channel, at, req.authorised_channels, req.history)


@settings(max_examples=300, deadline=None)
@given(requests())
def test_an_allowed_contact_is_inside_the_laws_window(req: ContactRequest) -> None:
    decision = decide_contact(req)
    if not decision.allowed:
        return
    rules = RULES[req.country]
    local = req.at.astimezone(zoneinfo.ZoneInfo(req.timezone))
    window = rules.windows.get(local.weekday())
    assert window is not None and window.start <= local.time() < window.end
    assert not (rules.no_holidays and is_holiday(req.country, local.date()))
    if rules.daily_limit is not None:
        same_day = [c for c in req.history if c.at.astimezone(local.tzinfo).date() == local.date()]
        assert len(same_day) < rules.daily_limit


@settings(max_examples=300, deadline=None)
@given(requests())
def test_next_allowed_at_is_later_and_allowed(req: ContactRequest) -> None:
    decision = decide_contact(req)
    if decision.allowed or decision.next_allowed_at is None:
        return
    assert decision.next_allowed_at > req.at
    assert decide_contact(with_at(req, decision.next_allowed_at)).allowed


@settings(max_examples=300, deadline=None)
@given(requests(), instants)
def test_more_history_never_allows_what_was_refused(req: ContactRequest, earlier: dt.datetime) -> None:
    if earlier >= req.at or decide_contact(req).allowed:
        return
    busier = ContactRequest(req.country, req.timezone, req.channel, req.at, req.authorised_channels,
                            (*req.history, PastContact(earlier, "sms")))
    assert not decide_contact(busier).allowed


@settings(max_examples=200, deadline=None)
@given(requests(), st.sampled_from(["opted_out", "do_not_contact", "legal_hold", "account_inactive"]))
def test_a_block_has_no_next_instant(req: ContactRequest, block: str) -> None:
    extra: dict[str, object] = {"opted_out": {"opted_out": frozenset({req.channel})},
                                "do_not_contact": {"do_not_contact": True}, "legal_hold": {"legal_hold": "dispute"},
                                "account_inactive": {"account_status": "recalled"}}[block]
    blocked = ContactRequest(req.country, req.timezone, req.channel, req.at, req.authorised_channels, req.history,
                             **extra)  # type: ignore[arg-type]
    decision = decide_contact(blocked)
    assert not decision.allowed and block in decision.reasons and decision.next_allowed_at is None


# Around the changes of clocks (America/New_York, Europe/Madrid), the Saint Joseph Monday (Colombia), year end.
near_edges = st.builds(lambda edge, minutes: edge + dt.timedelta(minutes=minutes),
                       st.sampled_from([dt.datetime(2026, 3, 8, 7, tzinfo=dt.UTC),
                                        dt.datetime(2026, 11, 1, 6, tzinfo=dt.UTC),
                                        dt.datetime(2026, 3, 29, 1, tzinfo=dt.UTC),
                                        dt.datetime(2026, 3, 23, 5, tzinfo=dt.UTC),
                                        dt.datetime(2026, 12, 31, 5, tzinfo=dt.UTC)]),
                       st.integers(-9 * 24 * 60, 9 * 24 * 60))


@st.composite
def phone_requests(draw: st.DrawFn) -> ContactRequest:
    """A call or message with the debtor's recent calls, conversations included, dated in UTC as the store reads
    them; in the US, the debtor in New York or Chicago."""
    country = draw(st.sampled_from(["US", "US", "CO", "MX"]))
    zone = draw(st.sampled_from(["America/New_York", "America/Chicago"])) if country == "US" else ZONES[country]
    at = draw(near_edges) + dt.timedelta(seconds=draw(st.sampled_from([0, 0, 17])))
    history = tuple(PastContact(at - dt.timedelta(minutes=draw(st.integers(0, 60 * 24 * 8))),
                                draw(st.sampled_from(["voice", "agent", "sms"])), conversation=draw(st.booleans()),
                                account_ref=draw(st.sampled_from(["A", "B", None])))
                    for _ in range(draw(st.integers(0, 9))))
    return ContactRequest(country=country, timezone=zone, channel=draw(st.sampled_from(["voice", "agent", "sms"])),
                          at=at, authorised_channels=CHANNELS, history=history, account_ref="A")


@settings(max_examples=250, deadline=None, derandomize=True)
@given(phone_requests())
def test_next_allowed_at_is_the_first_allowed_instant(req: ContactRequest) -> None:
    """Refused for its hours or limits alone, a contact always has a next instant, allowed, with the second
    before it refused (every rule opens at an instant, so one allowed earlier would show there)."""
    decision = decide_contact(req)
    if decision.allowed:
        return
    nxt = decision.next_allowed_at
    assert nxt is not None and nxt > req.at
    assert decide_contact(replace(req, at=nxt)).allowed
    before = nxt - dt.timedelta(seconds=1)
    assert before <= req.at or not decide_contact(replace(req, at=before)).allowed


# Zones a debtor's phones may add (some change clocks, Lord Howe by half an hour, Santiago and Havana at midnight).
FAR_ZONES = ("Europe/Madrid", "America/Los_Angeles", "Pacific/Honolulu", "America/Santiago", "Asia/Manila",
             "America/Chicago", "Australia/Lord_Howe", "America/Havana")


@st.composite
def requests_in_several_zones(draw: st.DrawFn) -> ContactRequest:
    """A contact whose debtor may be in other zones too, under the law or a client company's own rules (stricter
    limits; in Argentina, its own windows)."""
    from outreach.domain.contact_law import WEEKDAY_NAMES, RulesError, stricter_rules

    req = draw(requests())
    rules = None
    if draw(st.booleans()):
        override: dict[str, object] = {"daily_limit": 1}
        if req.country == "AR":
            days = draw(st.lists(st.sampled_from(WEEKDAY_NAMES[:6]), min_size=1, unique=True))
            override["windows"] = {d: [f"{draw(st.integers(0, 11)):02d}:{draw(st.sampled_from(['00', '30']))}",
                                       f"{draw(st.integers(12, 23)):02d}:{draw(st.sampled_from(['00', '59']))}"]
                                   for d in days}
        try:
            rules = stricter_rules(req.country, override)
        except RulesError:
            rules = None
    return replace(req, also_zones=tuple(draw(st.lists(st.sampled_from(FAR_ZONES), max_size=2))), rules=rules,
                   account_ref="A")


@settings(max_examples=200, deadline=None, derandomize=True)
@given(requests_in_several_zones())
def test_in_several_zones_next_allowed_at_is_the_first_allowed_instant(req: ContactRequest) -> None:
    decision = decide_contact(req)
    if decision.allowed:
        assert decision.open_until is not None and decision.open_until > req.at
        return
    nxt = decision.next_allowed_at
    if nxt is None:  # the zones' windows never meet: no hour of the next two weeks is allowed either
        assert not any(decide_contact(replace(req, at=req.at + dt.timedelta(hours=h))).allowed for h in range(336))
        return
    assert nxt > req.at and decide_contact(replace(req, at=nxt)).allowed
    before = nxt - dt.timedelta(seconds=1)
    assert before <= req.at or not decide_contact(replace(req, at=before)).allowed
