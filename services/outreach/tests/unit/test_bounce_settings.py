"""The bounce receiver's settings: off by default, on with a port and the bounce addresses (a JSON list in the
environment, as RECAUDO_OUTREACH_PROVIDERS), the first of them every e-mail's envelope sender; production names a
port without an address, and an address that is not one is refused at load."""

import pytest
from pydantic import ValidationError

from outreach.settings import OutreachSettings

pytestmark = pytest.mark.unit


def test_off_by_default_and_the_from_address_is_the_envelope_sender() -> None:
    settings = OutreachSettings()
    assert not settings.bounce_receiver_on and settings.smtp_bounce_port is None
    assert settings.envelope_sender == settings.smtp_from


def test_on_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECAUDO_OUTREACH_SMTP_BOUNCE_ADDRESSES", '["Rebotes@Agencia.example", "dsn@agencia.example"]')
    monkeypatch.setenv("RECAUDO_OUTREACH_SMTP_BOUNCE_HOST", "0.0.0.0")  # a container: every interface
    monkeypatch.setenv("RECAUDO_OUTREACH_SMTP_BOUNCE_PORT", "2525")
    settings = OutreachSettings()
    assert settings.bounce_receiver_on and settings.smtp_bounce_port == 2525
    assert settings.smtp_bounce_addresses == ["rebotes@agencia.example", "dsn@agencia.example"]
    assert settings.envelope_sender == "rebotes@agencia.example"
    assert not [p for p in settings.production_problems() if "bounce" in p.problem]


def test_an_address_alone_sets_the_envelope_sender_without_a_receiver() -> None:
    settings = OutreachSettings(smtp_bounce_addresses=["rebotes@agencia.example"])
    assert not settings.bounce_receiver_on and settings.envelope_sender == "rebotes@agencia.example"


def test_a_port_without_an_address_is_a_production_problem() -> None:
    settings = OutreachSettings(smtp_bounce_port=2525)
    assert not settings.bounce_receiver_on
    [problem] = [p for p in settings.production_problems() if "bounce" in p.problem]
    assert problem.variable == "RECAUDO_OUTREACH_SMTP_BOUNCE_ADDRESSES"


@pytest.mark.parametrize("bad", ["rebotes", "@agencia.example", "rebotes@", "<rebotes@agencia.example>",
                                 "a@b.example, c@d.example", "rebotes@agencia.example\r\nRCPT TO:<x@y>"])
def test_an_address_that_is_not_one_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        OutreachSettings(smtp_bounce_addresses=[bad])


@pytest.mark.parametrize(("field", "value"), [("smtp_bounce_port", 0), ("smtp_bounce_port", 70000),
                                              ("smtp_bounce_max_bytes", 10), ("smtp_bounce_max_sessions", 0),
                                              ("smtp_bounce_max_sessions_per_peer", 0)])
def test_limits_out_of_range_are_refused(field: str, value: int) -> None:
    with pytest.raises(ValidationError):
        OutreachSettings(**{field: value})
