"""Templates, SMS segments, opt-out replies, the debtor page's offers, region time zones and client rules:
the pure parts of outreach, table-driven."""

import datetime as dt
import re
from decimal import Decimal

import pytest

from outreach.domain.contact_law import RULES, RulesError, stricter_rules
from outreach.domain.offers import Offers, offers, proof, proof_valid
from outreach.domain.replies import is_opt_out
from outreach.domain.templates import (
    RenderBudget,
    Template,
    TemplateError,
    default_template,
    offer_text,
    preview,
    render,
    sms_segments,
    validate,
)
from outreach.domain.timezones import debtor_zone
from outreach.domain.verification import answer_matches, link_wait, source_wait
from recaudo_common.instalments import ArrangementLimits

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("text", "expected"), [
    ("a" * 160, ("GSM-7", 1)), ("a" * 161, ("GSM-7", 2)), ("a" * 306, ("GSM-7", 2)), ("a" * 307, ("GSM-7", 3)),
    ("€" * 80, ("GSM-7", 1)), ("€" * 81, ("GSM-7", 2)),  # extension characters take two septets
    ("ñandú é" + "a" * 60, ("UCS-2", 1)), ("á" * 70, ("UCS-2", 1)), ("á" * 71, ("UCS-2", 2)),
    ("á" * 134, ("UCS-2", 2)), ("á" * 135, ("UCS-2", 3)), ("😀" * 35, ("UCS-2", 1)),  # a surrogate pair is 2 units
])
def test_sms_segments_in_gsm7_and_ucs2(text: str, expected: tuple[str, int]) -> None:
    assert sms_segments(text) == expected


@pytest.mark.parametrize(("reply", "opts_out"), [
    ("STOP", True), ("baja", True), ("Baja.", True), ("NO MAS", True), ("no más", True), ("No Más!!", True),
    ("  nomás ", True), ("BAJA por favor", True), ("Ya pagué", False), ("no más tarde", True),
    ("quiero pagar, no me den de baja", False), ("", False), ("stopped", False),
])
def test_opt_out_words_ignore_case_accents_and_punctuation(reply: str, opts_out: bool) -> None:
    assert is_opt_out(reply) is opts_out


@pytest.mark.parametrize(("locale", "money"), [
    ("es-CO", "$1.500.000,00"), ("es-MX", "COP1,500,000.00"), ("en-US", "COP1,500,000.00"),
])
def test_rendering_formats_money_for_the_locale_and_adds_the_opt_out_line(locale: str, money: str) -> None:
    rendered = render(default_template("sms", locale), creditor="Banco", debtor_name="Ana", account_ref="A-1",
                      balance=Decimal("1500000"), currency="COP", days_past_due=40, offer="",
                      payment_link="https://r.example/pay/t", link_expires=dt.date(2026, 4, 3), opt_out_required=True)
    assert money in rendered.body.replace("\xa0", "")
    assert rendered.body.endswith("Reply STOP to opt out." if locale == "en-US" else "Responda BAJA para no recibir "
                                  "más mensajes.")
    assert (rendered.encoding, rendered.segments) == sms_segments(rendered.body)


SAMPLE = {"creditor": "Banco", "debtor_name": "Ana", "account_ref": "A-1", "balance": Decimal("1500000"),
          "currency": "COP", "days_past_due": 40, "offer": "", "payment_link": "https://r.example/pay/t",
          "link_expires": dt.date(2026, 4, 3)}


@pytest.mark.parametrize("channel", ["sms", "whatsapp", "email"])
def test_the_opt_out_line_cannot_be_hidden_by_a_condition(channel: str) -> None:
    hidden = Template(channel, "es-CO", "Su cuenta" if channel == "email" else None,
                      "Pague {{ payment_link }}{% if false %} {{ opt_out }}{% endif %}")
    validate(channel, "es-CO", hidden.subject, hidden.body, opt_out_required=True)  # it names {{ opt_out }}
    with pytest.raises(TemplateError, match="opt-out line in every message"):
        preview(hidden, opt_out_required=True, budget=RenderBudget(), **SAMPLE)
    # One saved before this check still carries the line: the message gets it at its end.
    sent = render(hidden, opt_out_required=True, **SAMPLE)
    assert sent.body.endswith("Responda BAJA para no recibir más mensajes.")
    assert sent.body.count("Responda BAJA") == 1
    assert render(default_template(channel, "es-CO"), opt_out_required=True, **SAMPLE).body.count("BAJA") == 1
    assert "BAJA" not in render(hidden, opt_out_required=False, **SAMPLE).body


def test_templates_are_validated_on_save() -> None:
    validate("sms", "es-PE", None, "Pague {{ payment_link }}", opt_out_required=False)
    for body, problem in [("{{ nombre }} {{ opt_out }}", "unknown variable(s): nombre"),
                          ("Pague {{ payment_link }}", "opt-out"), ("{% for %}", "syntax error")]:
        with pytest.raises(TemplateError, match=re.escape(problem)):
            validate("sms", "es-CO", None, body, opt_out_required=True)
    with pytest.raises(TemplateError, match="subject"):
        validate("email", "es-CO", None, "{{ opt_out }}", opt_out_required=True)
    with pytest.raises(TemplateError, match="unknown locale"):
        validate("sms", "pt-BR", None, "x", opt_out_required=False)


def test_offers_follow_the_treatment_within_the_client_company_limits() -> None:
    today = dt.date(2026, 3, 4)
    found = offers("settlement", Decimal("30"), Decimal("1000000.00"), today)
    assert found.full == Decimal("1000000.00") and found.plan is None
    assert found.settlement is not None
    assert found.settlement.instalments == ((dt.date(2026, 3, 14), Decimal("700000.00")),)
    capped = offers("settlement", Decimal("30"), Decimal("1000000.00"), today,
                    ArrangementLimits(max_discount_pct=Decimal("20"))).settlement
    assert capped is not None and capped.total == Decimal("800000.00") and capped.discount_pct == Decimal("20")
    choice = offers("instalment_plan", None, Decimal("100.00"), today).plan
    assert choice is not None and choice.counts == tuple(range(2, 13))
    plan = choice.plan(3)
    assert plan is not None and [a for _, a in plan.instalments] == [Decimal("33.33"), Decimal("33.33"),
                                                                      Decimal("33.34")]
    assert plan.total == Decimal("100.00") and plan.instalments[0][0] == dt.date(2026, 3, 11)
    assert choice.plan(13) is None and choice.plan(1) is None
    limited = offers("instalment_plan", None, Decimal("100.00"), today,
                     ArrangementLimits(instalments_min=3, instalments_max=6, min_instalment_amount=Decimal("25")))
    assert limited.plan is not None and limited.plan.counts == (3, 4)
    assert limited.chosen("instalment_plan", 5) is None and limited.chosen("settlement", None) is None
    assert offers("none", None, Decimal("5"), today).full == Decimal("5")
    assert offers("settlement", Decimal(10), Decimal(0), today) == Offers(None, None, None)
    assert offers("do_not_pursue", None, Decimal("5"), today) == Offers(None, None, None)


def test_the_identity_question_and_its_proof() -> None:
    assert answer_matches("1.020.304.050", "304050") and answer_matches("1.020.304.050", " 304 050 ")
    assert not answer_matches("1020304050", "4050") and not answer_matches("1020304050", "0304050")
    assert answer_matches("A-12cd", "A12CD") and answer_matches("XYZ-AB12cd", "ab12cd")  # a short ID: all of it
    assert not answer_matches("1020304050", "3040é0") and not answer_matches("", "")  # no crash, no empty match
    assert [link_wait(n).total_seconds() for n in range(1, 10)] == [0, 0, 60, 120, 240, 480, 960, 1920, 3840]
    assert source_wait(9).total_seconds() == 0 and source_wait(10).total_seconds() == 2
    assert source_wait(40).total_seconds() == 3600
    now = dt.datetime(2026, 3, 4, 15, tzinfo=dt.UTC)
    value = proof("tok", now + dt.timedelta(minutes=30), "s")
    assert proof_valid("tok", value, "s", now) and not proof_valid("other", value, "s", now)
    assert not proof_valid("tok", value, "s", now + dt.timedelta(minutes=31)) and not proof_valid("tok", "x", "s", now)


@pytest.mark.parametrize(("country", "region", "zone"), [
    ("MX", "Baja California", "America/Tijuana"), ("MX", "QUINTANA ROO", "America/Cancun"),
    ("MX", "Jalisco", "America/Mexico_City"), ("US", "CA", "America/Los_Angeles"), ("US", "Texas", "America/Chicago"),
    ("CO", "Antioquia", "America/Bogota"), ("MX", None, "America/Mexico_City"),
    # Abbreviations written with their dots, and the capital with its comma: a client in the West does not call
    # its debtor in New York or Washington at 23:30 there.
    ("US", "N.Y.", "America/New_York"), ("US", "Washington, D.C.", "America/New_York"),
    ("US", "D.C.", "America/New_York"), ("US", "Washington", "America/Los_Angeles"),
    ("MX", "B.C.", "America/Tijuana"), ("MX", "B.C.S.", "America/Mazatlan"), ("MX", "Q. Roo", "America/Cancun"),
])
def test_the_debtors_zone_comes_from_the_region_where_the_country_has_several(country: str, region: str | None,
                                                                              zone: str) -> None:
    client_zone = {"MX": "America/Mexico_City", "US": "America/Denver", "CO": "America/Bogota"}[country]
    assert debtor_zone(country, region, client_zone) == zone


def test_client_rules_may_only_tighten_the_law_except_in_argentina() -> None:
    narrowed = stricter_rules("CO", {"windows": {"mon": ["08:00", "12:00"]}})
    assert set(narrowed.windows) == {0} and narrowed.daily_limit == 1
    for override, message in [({"windows": {"sun": ["09:00", "10:00"]}}, "outside what the law allows"),
                              ({"daily_limit": 2}, "may not exceed"), ({"one_channel_per_week": False}, "required"),
                              ({"windows": {"mon": ["12:00", "08:00"]}}, "open before"), ({"hours": 1}, "unknown")]:
        with pytest.raises(RulesError, match=message):
            stricter_rules("CO", override)
    own = stricter_rules("AR", {"windows": {"sat": ["10:00", "13:00"]}, "daily_limit": 2})
    assert set(own.windows) == {5} and own.daily_limit == 2 and RULES["AR"].daily_limit is None


def test_an_argentine_client_sets_its_hours_but_never_opens_sundays() -> None:
    # MISSION §6: in Argentina the hours and limits are the client's, the days are not: no Sundays or holidays.
    sunday = {"windows": {"sat": ["10:00", "13:00"], "sun": ["10:00", "12:00"]}}
    with pytest.raises(RulesError, match=r"sun: .* outside what the law allows in AR"):
        stricter_rules("AR", sunday, refuse_closed_days=True)
    # Rules saved before Sunday windows were refused: Sunday is closed all the same, the rest applies.
    assert set(stricter_rules("AR", sunday).windows) == {5}
    assert 6 not in stricter_rules("AR", {"windows": {"sun": None}}, refuse_closed_days=True).windows
    assert stricter_rules("AR", {"windows": {"mon": ["08:00", "21:00"]}},
                          refuse_closed_days=True).windows[0].end.hour == 21


@pytest.mark.unit
@pytest.mark.parametrize(("discount", "locale", "shown"), [
    (Decimal("20"), "es-CO", "(20 % de descuento)"), (Decimal("2E+1"), "es-CO", "(20 % de descuento)"),
    (Decimal("12.5"), "es-CO", "(12,5 % de descuento)"), (Decimal("12.50"), "es-MX", "(12.5 % de descuento)")])
def test_a_discount_reads_as_a_person_writes_it(discount: Decimal, locale: str, shown: str) -> None:
    """A discount stored as 2E+1 (a normalised Decimal) reads "20", in the locale's own decimal mark."""
    assert shown in offer_text("settlement", discount, Decimal("1000000"), "COP", locale)
