"""Contact hours and days by country, in the debtor's local time, with the next allowed instant."""

import datetime as dt
import zoneinfo

import pytest

from outreach.domain.compliance import decide
from outreach.domain.messages import format_money, sms_body

pytestmark = pytest.mark.unit
BOG = zoneinfo.ZoneInfo("America/Bogota")


def at(y: int, mo: int, d: int, h: int, mi: int = 0, tz: zoneinfo.ZoneInfo = BOG) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, tzinfo=tz)


@pytest.mark.parametrize(("when", "allowed", "reason", "next_local"), [
    (at(2026, 3, 4, 7, 0), True, None, None),  # Wednesday, opening minute
    (at(2026, 3, 4, 6, 59), False, "outside_hours", at(2026, 3, 4, 7, 0)),
    (at(2026, 3, 4, 18, 59), True, None, None),
    (at(2026, 3, 4, 19, 0), False, "outside_hours", at(2026, 3, 5, 7, 0)),  # closing minute is outside
    (at(2026, 3, 7, 14, 59), True, None, None),  # Saturday until 15:00
    (at(2026, 3, 7, 15, 0), False, "outside_hours", at(2026, 3, 9, 7, 0)),  # Saturday close -> Monday
    (at(2026, 3, 8, 10, 0), False, "day_not_allowed", at(2026, 3, 9, 7, 0)),  # Sunday
])
def test_colombia(when: dt.datetime, allowed: bool, reason: str | None, next_local: dt.datetime | None) -> None:
    decision = decide(country="CO", timezone="America/Bogota", at=when.astimezone(dt.UTC))
    assert decision.allowed is allowed
    assert decision.reasons == ((reason,) if reason else ())
    assert decision.next_allowed_at == (next_local.astimezone(dt.UTC) if next_local else None)


def test_local_time_of_the_debtor_governs() -> None:
    utc_noon = dt.datetime(2026, 3, 4, 12, 0, tzinfo=dt.UTC)  # 07:00 in Bogotá, 06:00 in Mexico City
    assert decide(country="CO", timezone="America/Bogota", at=utc_noon).allowed
    assert not decide(country="MX", timezone="America/Mexico_City", at=utc_noon).allowed


def test_peru_has_no_saturdays_and_mexico_every_day() -> None:
    saturday_10 = dt.datetime(2026, 3, 7, 10, 0, tzinfo=zoneinfo.ZoneInfo("America/Lima"))
    assert decide(country="PE", timezone="America/Lima", at=saturday_10).reasons == ("day_not_allowed",)
    sunday_21 = dt.datetime(2026, 3, 8, 21, 59, tzinfo=zoneinfo.ZoneInfo("America/Mexico_City"))
    assert decide(country="MX", timezone="America/Mexico_City", at=sunday_21).allowed


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(country="CO", timezone="America/Bogota", at=dt.datetime(2026, 3, 4, 10))


def test_messages_are_spanish_with_local_money() -> None:
    from decimal import Decimal

    assert format_money(Decimal("1234567"), "COP") == "$ 1.234.567"
    assert format_money(Decimal("1234.5"), "MXN") == "$ 1.234,50"
    body = sms_body(creditor="Banco Andino", account_ref="A-1", balance=Decimal("150000"), currency="COP")
    assert "saldo pendiente de $ 150.000" in body and "BAJA" in body
