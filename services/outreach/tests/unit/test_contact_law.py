"""Table-driven tests of the compliance engine for CO, PE, MX, US and AR at every edge, with next_allowed_at
across weekends and holidays (2026 calendar; Colombia's Epiphany moves to Monday January 12)."""

import datetime as dt
import zoneinfo

import pytest

from outreach.domain.contact_law import ContactRequest, PastContact, decide_contact

pytestmark = pytest.mark.unit
ZONES = {"CO": "America/Bogota", "PE": "America/Lima", "MX": "America/Mexico_City", "US": "America/New_York",
         "AR": "America/Argentina/Buenos_Aires"}
ALL = ("sms", "email", "whatsapp", "voice", "agent", "letter")


def local(country: str, y: int, mo: int, d: int, h: int, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, tzinfo=zoneinfo.ZoneInfo(ZONES[country]))


def ask(country: str, at: dt.datetime, channel: str = "sms", **kw: object) -> tuple[bool, tuple[str, ...], object]:
    req = ContactRequest(country=country, timezone=ZONES[country], channel=channel, at=at,
                         authorised_channels=kw.pop("authorised", ALL), **kw)  # type: ignore[arg-type]
    decision = decide_contact(req)
    nxt = decision.next_allowed_at.astimezone(zoneinfo.ZoneInfo(ZONES[country])) if decision.next_allowed_at else None
    return decision.allowed, decision.reasons, nxt


@pytest.mark.parametrize(("country", "at", "allowed", "reasons", "next_at"), [
    # Colombia: opening and closing minute, Saturday close, Sunday, fixed and movable holidays
    ("CO", local("CO", 2026, 3, 4, 7, 0), True, (), None),
    ("CO", local("CO", 2026, 3, 4, 6, 59), False, ("outside_hours",), local("CO", 2026, 3, 4, 7, 0)),
    ("CO", local("CO", 2026, 3, 4, 19, 0), False, ("outside_hours",), local("CO", 2026, 3, 5, 7, 0)),
    ("CO", local("CO", 2026, 3, 7, 14, 59), True, (), None),
    ("CO", local("CO", 2026, 3, 7, 15, 0), False, ("outside_hours",), local("CO", 2026, 3, 9, 7, 0)),
    ("CO", local("CO", 2026, 3, 8, 10, 0), False, ("day_not_allowed",), local("CO", 2026, 3, 9, 7, 0)),
    ("CO", local("CO", 2026, 5, 1, 10, 0), False, ("holiday",), local("CO", 2026, 5, 2, 8, 0)),
    ("CO", local("CO", 2026, 1, 12, 10, 0), False, ("holiday",), local("CO", 2026, 1, 13, 7, 0)),
    # Friday evening before the Saint Joseph Monday (March 23): Saturday morning is the next allowed instant
    ("CO", local("CO", 2026, 3, 20, 19, 30), False, ("outside_hours",), local("CO", 2026, 3, 21, 8, 0)),
    ("CO", local("CO", 2026, 3, 21, 16, 0), False, ("outside_hours",), local("CO", 2026, 3, 24, 7, 0)),
    # Peru: no Saturdays, closes at 20:00
    ("PE", local("PE", 2026, 3, 4, 19, 59), True, (), None),
    ("PE", local("PE", 2026, 3, 6, 20, 0), False, ("outside_hours",), local("PE", 2026, 3, 9, 7, 0)),
    ("PE", local("PE", 2026, 3, 7, 10, 0), False, ("day_not_allowed",), local("PE", 2026, 3, 9, 7, 0)),
    # Mexico: every day 07-22
    ("MX", local("MX", 2026, 3, 8, 21, 59), True, (), None),
    ("MX", local("MX", 2026, 3, 8, 22, 0), False, ("outside_hours",), local("MX", 2026, 3, 9, 7, 0)),
    # United States: 08-21 local
    ("US", local("US", 2026, 3, 8, 7, 59), False, ("outside_hours",), local("US", 2026, 3, 8, 8, 0)),
    ("US", local("US", 2026, 3, 8, 20, 59), True, (), None),
    # Argentina: default Mon-Fri 09-20, no Sundays or holidays
    ("AR", local("AR", 2026, 3, 4, 8, 59), False, ("outside_hours",), local("AR", 2026, 3, 4, 9, 0)),
    ("AR", local("AR", 2026, 5, 25, 10, 0), False, ("holiday",), local("AR", 2026, 5, 26, 9, 0)),
])
def test_hours_days_and_holidays(country: str, at: dt.datetime, allowed: bool, reasons: tuple[str, ...],
                                 next_at: dt.datetime | None) -> None:
    assert ask(country, at) == (allowed, reasons, next_at)


def test_colombia_one_contact_a_day_and_one_channel_a_week() -> None:
    monday_9 = local("CO", 2026, 3, 9, 9, 0)
    texted = (PastContact(monday_9, "sms"),)
    assert ask("CO", monday_9 + dt.timedelta(hours=2), history=texted) == (
        False, ("daily_limit",), local("CO", 2026, 3, 10, 7, 0))
    assert ask("CO", local("CO", 2026, 3, 10, 9, 0), history=texted)[0] is True  # same channel, next day
    assert ask("CO", local("CO", 2026, 3, 10, 9, 0), channel="whatsapp", history=texted) == (
        False, ("weekly_channel_limit",), local("CO", 2026, 3, 16, 7, 0))
    sunday_before = (PastContact(local("CO", 2026, 3, 8, 12, 0) - dt.timedelta(days=2), "email"),)
    assert ask("CO", monday_9, history=sunday_before)[0] is True  # last week's other channel does not count


def test_us_seven_calls_in_seven_days_and_the_week_after_a_conversation() -> None:
    start = local("US", 2026, 3, 2, 10, 0)
    calls = tuple(PastContact(start + dt.timedelta(days=i // 2, hours=i), "voice") for i in range(7))
    at = local("US", 2026, 3, 6, 12, 0)
    allowed, reasons, nxt = ask("US", at, channel="voice", history=calls)
    assert (allowed, reasons) == (False, ("call_limit_7_in_7",))
    assert nxt == calls[0].at + dt.timedelta(days=7)  # the instant the oldest call leaves the seven days
    assert ask("US", at, channel="sms", history=calls)[0] is True  # only calls are capped
    talked = (PastContact(local("US", 2026, 3, 5, 11, 0), "voice", conversation=True),)
    allowed, reasons, nxt = ask("US", at, channel="voice", history=talked)
    assert reasons == ("call_after_conversation",) and nxt == local("US", 2026, 3, 12, 11, 0)


@pytest.mark.parametrize(("talked_at", "resumes_at"), [
    # The clocks go forward on Sunday March 8 and back on Sunday November 1 (America/New_York): the seven days
    # after a conversation end at the same local time a week later, 167 or 169 hours on.
    (local("US", 2026, 3, 5, 10, 0), local("US", 2026, 3, 12, 10, 0)),
    (local("US", 2026, 10, 29, 10, 0), local("US", 2026, 11, 5, 10, 0)),
])
def test_regulation_f_weeks_across_a_change_of_clocks(talked_at: dt.datetime, resumes_at: dt.datetime) -> None:
    # As the store reads them: instants in UTC, not in the debtor's zone.
    talked = (PastContact(talked_at.astimezone(dt.UTC), "voice", conversation=True, account_ref="A"),)
    at = talked_at + dt.timedelta(days=1)
    assert ask("US", at, channel="voice", history=talked, account_ref="A") == (
        False, ("call_after_conversation",), resumes_at)
    assert ask("US", resumes_at, channel="voice", history=talked, account_ref="A")[0] is True
    assert ask("US", resumes_at - dt.timedelta(seconds=1), channel="voice", history=talked, account_ref="A")[0] is False
    calls = tuple(PastContact((talked_at + dt.timedelta(hours=i)).astimezone(dt.UTC), "voice", account_ref="A")
                  for i in range(7))
    assert ask("US", at, channel="voice", history=calls, account_ref="A") == (
        False, ("call_limit_7_in_7",), resumes_at)
    assert ask("US", resumes_at, channel="voice", history=calls, account_ref="A")[0] is True


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"opted_out": frozenset({"sms"})}, "opted_out"), ({"opted_out": frozenset({"all"})}, "opted_out"),
    ({"do_not_contact": True}, "do_not_contact"), ({"account_status": "recalled"}, "account_inactive"),
    ({"account_status": "paid"}, "account_inactive"), ({"legal_hold": "dispute"}, "legal_hold"),
    ({"authorised": ("email",)}, "channel_not_authorised"),
])
def test_what_always_blocks_has_no_next_instant(kwargs: dict[str, object], reason: str) -> None:
    assert ask("CO", local("CO", 2026, 3, 4, 10, 0), **kwargs) == (False, (reason,), None)


def test_another_channel_opted_out_does_not_block() -> None:
    assert ask("CO", local("CO", 2026, 3, 4, 10, 0), opted_out=frozenset({"whatsapp"}))[0] is True


@pytest.mark.parametrize(("country", "at", "allowed", "reasons", "next_at"), [
    # Peru: fixed holiday (Labour Day, a Friday in 2026) and the movable Holy Thursday and Good Friday
    ("PE", local("PE", 2026, 5, 1, 10, 0), False, ("holiday",), local("PE", 2026, 5, 4, 7, 0)),
    ("PE", local("PE", 2026, 4, 2, 10, 0), False, ("holiday",), local("PE", 2026, 4, 6, 7, 0)),
    ("PE", local("PE", 2026, 3, 4, 7, 0), True, (), None),
    ("PE", local("PE", 2026, 3, 4, 6, 59), False, ("outside_hours",), local("PE", 2026, 3, 4, 7, 0)),
    # Mexico: Sundays and holidays are allowed; the opening minute
    ("MX", local("MX", 2026, 9, 16, 12, 0), True, (), None),
    ("MX", local("MX", 2026, 3, 8, 6, 59), False, ("outside_hours",), local("MX", 2026, 3, 8, 7, 0)),
    # United States: the closing minute, and 8 AM the next day
    ("US", local("US", 2026, 3, 8, 21, 0), False, ("outside_hours",), local("US", 2026, 3, 9, 8, 0)),
    ("US", local("US", 2026, 7, 4, 12, 0), True, (), None),  # Regulation F has no holiday rule
    # Argentina: Saturday is closed by default; Sunday too
    ("AR", local("AR", 2026, 3, 7, 10, 0), False, ("day_not_allowed",), local("AR", 2026, 3, 9, 9, 0)),
    ("AR", local("AR", 2026, 3, 4, 19, 59), True, (), None),
    ("AR", local("AR", 2026, 3, 4, 20, 0), False, ("outside_hours",), local("AR", 2026, 3, 5, 9, 0)),
    # Colombia: Christmas on a Friday, then Saturday's window; a holiday Monday after a Sunday
    ("CO", local("CO", 2026, 12, 25, 9, 0), False, ("holiday",), local("CO", 2026, 12, 26, 8, 0)),
    ("CO", local("CO", 2026, 8, 16, 9, 0), False, ("day_not_allowed",), local("CO", 2026, 8, 18, 7, 0)),
])
def test_more_edges_across_countries(country: str, at: dt.datetime, allowed: bool, reasons: tuple[str, ...],
                                     next_at: dt.datetime | None) -> None:
    assert ask(country, at) == (allowed, reasons, next_at)


def test_a_blocked_contact_can_have_several_reasons_and_one_next_instant() -> None:
    saturday_14 = local("CO", 2026, 3, 7, 14, 0)
    texted = (PastContact(local("CO", 2026, 3, 7, 9, 0), "email"),)
    allowed, reasons, nxt = ask("CO", saturday_14, channel="sms", history=texted)
    assert (allowed, reasons) == (False, ("daily_limit", "weekly_channel_limit"))
    assert nxt == local("CO", 2026, 3, 9, 7, 0)  # Monday: a new day, a new week, and open


def test_calls_count_per_account_under_regulation_f() -> None:
    at = local("US", 2026, 3, 6, 12, 0)
    other_account = tuple(PastContact(at - dt.timedelta(hours=i + 1), "voice", account_ref="B") for i in range(7))
    req_kwargs = {"history": other_account}
    from outreach.domain.contact_law import ContactRequest, decide_contact

    decision = decide_contact(ContactRequest(country="US", timezone=ZONES["US"], channel="voice", at=at,
                                             authorised_channels=ALL, account_ref="A", **req_kwargs))  # type: ignore[arg-type]
    assert decision.allowed is True


def test_a_debtor_abroad_is_contacted_only_at_an_hour_allowed_in_both_zones() -> None:
    # A Colombian client company's debtor whose phone is Spanish: 18:30 in Bogotá is 00:30 in Madrid (winter).
    madrid = ("Europe/Madrid",)
    assert ask("CO", local("CO", 2026, 3, 3, 18, 30)) == (True, (), None)
    allowed, reasons, nxt = ask("CO", local("CO", 2026, 3, 3, 18, 30), also_zones=madrid)
    # The next instant both allow: 07:00 in Bogotá is 13:00 in Madrid.
    assert (allowed, reasons, nxt) == (False, ("outside_hours",), local("CO", 2026, 3, 4, 7, 0))
    # 06:30 in Madrid is 00:30 in Bogotá: Bogotá's own hours decide.
    assert ask("CO", local("CO", 2026, 3, 4, 6, 30), also_zones=madrid)[2] == local("CO", 2026, 3, 4, 7, 0)
    # Thirteen hours apart, the windows meet for an hour: 18:00 in Bogotá is 07:00 the next day in Manila.
    assert ask("CO", local("CO", 2026, 3, 4, 10, 0), also_zones=("Asia/Manila",)) == (
        False, ("outside_hours",), local("CO", 2026, 3, 4, 18, 0))


def test_a_us_debtor_in_another_state_is_contacted_at_their_own_hour() -> None:
    from outreach.domain.timezones import debtor_zone, phone_zones

    # A client company in Los Angeles, a debtor in New York: 20:30 in Los Angeles is 23:30 there.
    at = dt.datetime(2026, 3, 4, 20, 30, tzinfo=zoneinfo.ZoneInfo("America/Los_Angeles"))
    zone = debtor_zone("US", "NY", "America/Los_Angeles")
    assert zone == "America/New_York"
    decision = decide_contact(ContactRequest(country="US", timezone=zone, channel="voice", at=at,
                                             authorised_channels=ALL))
    assert (decision.allowed, decision.reasons) == (False, ("outside_hours",))
    # The region left blank: the phone's area code (212, New York) says the same.
    decision = decide_contact(ContactRequest(country="US", timezone="America/Los_Angeles", channel="voice", at=at,
                                             authorised_channels=ALL, also_zones=phone_zones("+12125551234")))
    assert (decision.allowed, decision.reasons) == (False, ("outside_hours",))
    assert phone_zones("+573001234567") == ("America/Bogota",) and phone_zones("+999") == ()
    assert phone_zones("+18005551234") == ()  # toll-free: anywhere in the US and beyond, so nowhere in particular


def test_numbers_read_without_parsing_are_placed_as_the_library_places_them() -> None:
    import phonenumbers
    from phonenumbers import timezone as library

    from outreach.domain.timezones import _usable, phone_zones

    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
                assert phone_zones(e164) == _usable(library.time_zones_for_number(example)), (region, e164)


def test_a_contact_logged_late_is_judged_with_the_contacts_of_its_day_and_week_that_came_after_it() -> None:
    from outreach.domain.contact_law import violations

    # An agent called at 09:00 from outside Recaudo and logs it at noon; Recaudo texted the debtor at 11:00.
    monday_9 = local("CO", 2026, 3, 9, 9, 0)

    def logged(at: dt.datetime, channel: str, *history: PastContact, country: str = "CO") -> tuple[str, ...]:
        return violations(ContactRequest(country=country, timezone=ZONES[country], channel=channel, at=at,
                                         authorised_channels=ALL, history=history, account_ref="A"))

    texted_at_11 = PastContact(local("CO", 2026, 3, 9, 11, 0), "sms")
    assert logged(monday_9, "voice", texted_at_11) == ("daily_limit", "weekly_channel_limit")
    assert logged(monday_9, "sms", texted_at_11) == ("daily_limit",)
    # Later in the week on another channel: two channels that week; the next day on the same one: nothing.
    assert logged(monday_9, "voice", PastContact(local("CO", 2026, 3, 13, 9, 0), "sms")) == ("weekly_channel_limit",)
    assert logged(monday_9, "sms", PastContact(local("CO", 2026, 3, 10, 9, 0), "sms")) == ()
    # The next week's contacts are another week's.
    assert logged(local("CO", 2026, 3, 14, 10, 0), "voice", PastContact(local("CO", 2026, 3, 16, 9, 0), "sms")) \
        == ()
    # Regulation F: a call logged late that makes eight in seven days with the calls after it.
    tuesday = local("US", 2026, 3, 3, 10, 0)
    after = tuple(PastContact(tuesday + dt.timedelta(hours=2 + i), "voice", account_ref="A") for i in range(7))
    assert logged(tuesday, "voice", *after, country="US") == ("call_limit_7_in_7",)
    assert logged(tuesday, "voice", *after[:6], country="US") == ()
    other_account = tuple(PastContact(c.at, "voice", account_ref="B") for c in after)
    assert logged(tuesday, "voice", *other_account, country="US") == ()
    a_week_on = tuple(PastContact(tuesday + dt.timedelta(days=7, hours=i), "voice", account_ref="A") for i in range(7))
    assert logged(tuesday, "voice", *a_week_on, country="US") == ()


def test_rules_that_never_open_are_found_out_within_a_year_of_days(monkeypatch: pytest.MonkeyPatch) -> None:
    # A client company that closes every day (to pause its collections, say): nothing is ever allowed, and the
    # engine says so after looking at a year and a bit of days, not 500 times 400 (0.4 s a decision, each due
    # attempt of that client in the scheduler's claim and each dialer's check).
    from outreach.domain import contact_law
    from outreach.domain.contact_law import stricter_rules

    searches: list[dt.datetime] = []
    next_candidate = contact_law._next_candidate

    def counted(req: ContactRequest, rules: object, at: dt.datetime, reasons: list[str]) -> dt.datetime:
        searches.append(at)
        return next_candidate(req, rules, at, reasons)  # type: ignore[arg-type]

    monkeypatch.setattr(contact_law, "_next_candidate", counted)
    closed = stricter_rules("CO", {"windows": {}})
    decision = decide_contact(ContactRequest(country="CO", timezone=ZONES["CO"], channel="sms",
                                             at=local("CO", 2026, 3, 4, 10, 0), authorised_channels=ALL,
                                             rules=closed))
    assert (decision.allowed, decision.reasons, decision.next_allowed_at) == (False, ("day_not_allowed",), None)
    assert len(searches) <= 2  # each search looks 400 days ahead


def test_a_conversation_logged_late_is_flagged_with_the_calls_made_in_the_week_after_it() -> None:
    from outreach.domain.contact_law import violations

    # Regulation F: no call within seven days after a conversation. An agent talked to the debtor at 10:00 from
    # outside Recaudo and logs it at 17:00; the voicebot called at 14:00, not knowing.
    talked = local("US", 2026, 3, 3, 10, 0)

    def logged(*history: PastContact, conversation: bool = True) -> tuple[str, ...]:
        return violations(ContactRequest(country="US", timezone=ZONES["US"], channel="agent", at=talked,
                                         authorised_channels=ALL, history=history, account_ref="A"),
                          conversation=conversation)

    assert logged(PastContact(talked + dt.timedelta(hours=4), "voice", account_ref="A")) == (
        "call_after_conversation",)
    assert logged(PastContact(talked + dt.timedelta(hours=4), "voice"), conversation=False) == ()
    assert logged(PastContact(talked + dt.timedelta(hours=4), "sms")) == ()  # a text is no call
    assert logged(PastContact(talked + dt.timedelta(days=7), "voice")) == ()  # the week after it is over


def test_a_contact_the_debtor_started_is_not_judged_and_does_not_count_toward_the_limits() -> None:
    from outreach.domain.contact_law import violations

    # Ley 2300 and Regulation F limit the contacts the collector starts: a debtor who phones the agency on a Sunday
    # or at 21:00 breaks no hours, and the agency's own text that day is still its one contact.
    sunday_10 = local("CO", 2026, 3, 8, 10, 0)

    def logged(at: dt.datetime, channel: str, *history: PastContact, country: str = "CO",
               conversation: bool = False) -> tuple[str, ...]:
        return violations(ContactRequest(country=country, timezone=ZONES[country], channel=channel, at=at,
                                         authorised_channels=("sms",), history=history, account_ref="A",
                                         opted_out=frozenset({"voice"})), conversation=conversation, inbound=True)

    assert logged(sunday_10, "voice") == ()
    assert logged(local("CO", 2026, 3, 9, 21, 0), "voice", PastContact(local("CO", 2026, 3, 9, 9, 0), "sms")) == ()
    monday_9 = local("CO", 2026, 3, 9, 9, 0)
    called_in = PastContact(monday_9, "voice", conversation=True, account_ref="A", inbound=True)
    allowed, reasons, _ = ask("CO", local("CO", 2026, 3, 9, 11, 0), "sms", history=(called_in,))
    assert (allowed, reasons) == (True, ())
    # An outbound contact logged late is not flagged for the debtor's call of its day either.
    assert violations(ContactRequest(country="CO", timezone=ZONES["CO"], channel="sms",
                                     at=local("CO", 2026, 3, 9, 8, 0), authorised_channels=ALL,
                                     history=(called_in,))) == ()
    # Regulation F: the debtor's calls are not calls placed (7-in-7), but a conversation starts the seven days
    # after it whoever placed the call (12 CFR 1006.14(b)(2)(i)(B)).
    tuesday = local("US", 2026, 3, 3, 10, 0)
    theirs = tuple(PastContact(tuesday - dt.timedelta(hours=1 + i), "voice", account_ref="A", inbound=True)
                   for i in range(7))
    assert ask("US", tuesday, "voice", history=theirs, account_ref="A")[:2] == (True, ())
    talked_in = PastContact(tuesday - dt.timedelta(days=1), "voice", conversation=True, account_ref="A", inbound=True)
    assert ask("US", tuesday, "voice", history=(talked_in,), account_ref="A")[1] == ("call_after_conversation",)
    voicebot_after = PastContact(tuesday + dt.timedelta(hours=4), "voice", account_ref="A")
    assert logged(tuesday, "voice", voicebot_after, country="US", conversation=True) == ("call_after_conversation",)
    assert logged(tuesday, "voice", PastContact(voicebot_after.at, "voice", inbound=True), country="US",
                  conversation=True) == ()  # the debtor calling again is no call placed
