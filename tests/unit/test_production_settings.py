"""Production refuses development settings: each rule on its own, the lines it prints, and what production turns
off whatever the settings say (the sandbox provider, the sandbox gateway and its webhook secret)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ingest.settings import IngestSettings
from outreach.providers import Providers, SandboxGateway
from outreach.settings import OutreachSettings
from payments.settings import PaymentsSettings
from recaudo_common.db import Database, make_engine
from recaudo_common.settings import (
    DEV_SANDBOX_SECRET,
    PlatformSettings,
    SettingProblem,
    UnsafeProductionSettings,
    production_problems,
    refuse_unsafe_production,
)

pytestmark = pytest.mark.unit
STRONG = "s" * 32
# A production that passes every check: real providers or none, https, strong secrets, no sandbox gateway.
GOOD: dict[str, str] = {
    "RECAUDO_ENVIRONMENT": "production", "RECAUDO_LINK_SECRET": "l" * 40, "RECAUDO_SANDBOX_GATEWAY": "false",
    "RECAUDO_PUBLIC_URL": "https://recaudo.example.com", "RECAUDO_VAULT_MASTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    "RECAUDO_DATABASE_URL": "postgresql+asyncpg://recaudo:pw@db:5432/recaudo",
    "RECAUDO_BOOTSTRAP_OPERATOR_KEY": "rk_" + "o" * 40,
    "RECAUDO_OUTREACH_PROVIDERS": json.dumps({"sms": "twilio", "whatsapp": "twilio", "email": "smtp"}),
    "RECAUDO_OUTREACH_SMTP_STARTTLS": "true", "RECAUDO_OUTREACH_TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "RECAUDO_OUTREACH_TWILIO_AUTH_TOKEN": "t" * 32, "RECAUDO_OUTREACH_TWILIO_SMS_FROM": "+15005550006",
    "RECAUDO_OUTREACH_TWILIO_WHATSAPP_FROM": "+14155238886",
    "RECAUDO_PAYMENTS_WEBHOOK_SECRETS": json.dumps({"wompi": ["w" * 32, "x" * 40]}),
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The good production environment; a test changes one variable and sees exactly its line."""
    for name in list(__import__("os").environ):
        if name.startswith("RECAUDO_"):
            monkeypatch.delenv(name)
    for name, value in GOOD.items():
        monkeypatch.setenv(name, value)
    return GOOD


def problems(monkeypatch: pytest.MonkeyPatch, **changes: str | None) -> list[str]:
    for name, value in changes.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    settings = [PlatformSettings(), IngestSettings(), OutreachSettings(), PaymentsSettings()]
    return [str(p) for p in production_problems(settings)]


def test_good_production_settings_pass(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert problems(monkeypatch) == []
    refuse_unsafe_production([PlatformSettings(), OutreachSettings(), PaymentsSettings()])  # does not raise


def test_outside_production_nothing_is_refused(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in GOOD:
        monkeypatch.delenv(name)
    assert problems(monkeypatch, RECAUDO_ENVIRONMENT="development") == []
    assert problems(monkeypatch, RECAUDO_ENVIRONMENT="test") == []


def test_pure_defaults_name_every_offending_variable(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in GOOD:
        monkeypatch.delenv(name)
    with pytest.raises(UnsafeProductionSettings) as refused:
        monkeypatch.setenv("RECAUDO_ENVIRONMENT", "production")
        refuse_unsafe_production([PlatformSettings(), OutreachSettings(), PaymentsSettings()])
    variables = {p.variable for p in refused.value.problems}
    assert variables == {"RECAUDO_LINK_SECRET", "RECAUDO_SANDBOX_GATEWAY", "RECAUDO_SANDBOX_GATEWAY_SECRET",
                         "RECAUDO_PUBLIC_URL", "RECAUDO_DATABASE_URL", "RECAUDO_OUTREACH_PROVIDERS",
                         "RECAUDO_VAULT_MASTER_KEY"}
    lines = str(refused.value).splitlines()
    assert "RECAUDO_SANDBOX_GATEWAY: sandbox gateway enabled (it moves no money; set it to false)" in lines
    assert {f"RECAUDO_OUTREACH_PROVIDERS: sandbox provider for {c}" for c in
            ("sms", "email", "whatsapp", "voice", "letter")} <= set(lines)
    assert len(lines) == len(set(lines))  # each once, though every service's settings carry the platform's


@pytest.mark.parametrize(("changes", "line"), [
    ({"RECAUDO_LINK_SECRET": None}, "RECAUDO_LINK_SECRET: link secret is the development default"),
    ({"RECAUDO_LINK_SECRET": "x" * 31}, "RECAUDO_LINK_SECRET: link secret is too short (31 bytes; at least 32)"),
    ({"RECAUDO_LINK_SECRET": "change-me-to-a-long-random-secret"},
     "RECAUDO_LINK_SECRET: link secret is a placeholder (change-me)"),
    ({"RECAUDO_BOOTSTRAP_OPERATOR_KEY": "change-me-operator-key"},
     "RECAUDO_BOOTSTRAP_OPERATOR_KEY: bootstrap operator key is a placeholder (change-me)"),
    ({"RECAUDO_BOOTSTRAP_OPERATOR_KEY": "rk_short"},
     "RECAUDO_BOOTSTRAP_OPERATOR_KEY: bootstrap operator key is too short (8 bytes; at least 32)"),
    ({"RECAUDO_SANDBOX_GATEWAY": "true", "RECAUDO_SANDBOX_GATEWAY_SECRET": STRONG},
     "RECAUDO_SANDBOX_GATEWAY: sandbox gateway enabled (it moves no money; set it to false)"),
    ({"RECAUDO_SANDBOX_GATEWAY": "true"},
     ["RECAUDO_SANDBOX_GATEWAY: sandbox gateway enabled (it moves no money; set it to false)",
      "RECAUDO_SANDBOX_GATEWAY_SECRET: sandbox gateway secret is the development default"]),
    ({"RECAUDO_PUBLIC_URL": "http://recaudo.example.com"},
     "RECAUDO_PUBLIC_URL: public URL (payment links, callbacks) is not https (http)"),
    ({"RECAUDO_DATABASE_URL": None},
     "RECAUDO_DATABASE_URL: is the development default (embedded PostgreSQL, no password)"),
    ({"RECAUDO_VAULT_MASTER_KEY": None}, "RECAUDO_VAULT_MASTER_KEY: vault master key is the development default"),
    ({"RECAUDO_VAULT_MASTER_KEY": "k" * 40}, "RECAUDO_VAULT_MASTER_KEY: vault master key is 30 bytes once decoded; "
                                             "a master key is 32"),
    ({"RECAUDO_OUTREACH_PROVIDERS": json.dumps({"sms": "sandbox", "email": "off"})},
     "RECAUDO_OUTREACH_PROVIDERS: sandbox provider for sms"),
    ({"RECAUDO_OUTREACH_SMTP_STARTTLS": "false"}, "RECAUDO_OUTREACH_SMTP_STARTTLS: SMTP without STARTTLS"),
    ({"RECAUDO_OUTREACH_TWILIO_AUTH_TOKEN": "tok"},
     "RECAUDO_OUTREACH_TWILIO_AUTH_TOKEN: Twilio auth token is too short (3 bytes; at least 32)"),
    ({"RECAUDO_OUTREACH_TWILIO_AUTH_TOKEN": None}, "RECAUDO_OUTREACH_TWILIO_AUTH_TOKEN: Twilio auth token not set"),
    ({"RECAUDO_OUTREACH_TWILIO_ACCOUNT_SID": None},
     "RECAUDO_OUTREACH_TWILIO_ACCOUNT_SID: Twilio account SID not set"),
    ({"RECAUDO_OUTREACH_TWILIO_BASE_URL": "http://twilio.local"},
     "RECAUDO_OUTREACH_TWILIO_BASE_URL: Twilio API URL is not https (http)"),
    ({"RECAUDO_OUTREACH_TWILIO_SMS_FROM": None},
     "RECAUDO_OUTREACH_TWILIO_SMS_FROM: no sender for sms through Twilio"),
    ({"RECAUDO_PAYMENTS_WEBHOOK_SECRETS": json.dumps({"wompi": "short"})},
     "RECAUDO_PAYMENTS_WEBHOOK_SECRETS: webhook secret of gateway 'wompi' is too short (5 bytes; at least 32)"),
    ({"RECAUDO_PAYMENTS_WEBHOOK_SECRETS": json.dumps({"wompi": [STRONG, DEV_SANDBOX_SECRET]})},
     "RECAUDO_PAYMENTS_WEBHOOK_SECRETS: webhook secret of gateway 'wompi' is the development default"),
    ({"RECAUDO_PAYMENTS_WEBHOOK_SECRETS": json.dumps({"sandbox": STRONG})},
     "RECAUDO_PAYMENTS_WEBHOOK_SECRETS: sandbox gateway enabled (a secret for gateway 'sandbox')"),
])
def test_each_rule_names_its_variable_and_what_is_wrong(env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                                        changes: dict[str, str | None], line: str | list[str]) -> None:
    assert problems(monkeypatch, **changes) == (line if isinstance(line, list) else [line])


def test_twilio_and_smtp_are_checked_only_when_used(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert problems(monkeypatch, RECAUDO_OUTREACH_PROVIDERS=json.dumps({"email": "off"}),
                    RECAUDO_OUTREACH_SMTP_STARTTLS="false", RECAUDO_OUTREACH_TWILIO_AUTH_TOKEN=None) == []


def _providers(**settings: Any) -> Providers:
    database = Database(make_engine("postgresql+asyncpg://unused@127.0.0.1:1/unused", pool_size=1))
    return Providers(database, OutreachSettings(**settings))


def test_in_production_a_channel_without_a_real_provider_is_off_never_the_sandbox(env: dict[str, str]) -> None:
    # Even against the start-up check (a "sandbox" mapping), production routes nothing to the sandbox.
    providers = _providers(providers={"sms": "sandbox", "email": "smtp", "voice": "off"})
    assert providers.for_channel("sms") is None
    assert providers.for_channel("voice") is None
    assert providers.for_channel("letter") is None  # not mentioned at all
    email = providers.for_channel("email")
    assert email is not None and email.name == "smtp"
    assert not providers.sandbox_on


def test_outside_production_a_channel_without_a_provider_is_the_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECAUDO_ENVIRONMENT", "development")
    providers = _providers(providers={"email": "smtp", "voice": "off"})
    sms = providers.for_channel("sms")
    assert sms is not None and sms.name == "sandbox"
    assert providers.for_channel("voice") is None  # "off" is off everywhere


def test_in_production_the_sandbox_gateway_and_its_secret_are_not_accepted(env: dict[str, str],
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECAUDO_SANDBOX_GATEWAY", "true")  # against the start-up check: still off
    payments = PaymentsSettings(webhook_secrets={"sandbox": STRONG, "wompi": STRONG})
    assert payments.secrets_of("sandbox") == []  # the gateway is unknown: every sandbox webhook is refused
    assert payments.secrets_of("wompi") == [STRONG]
    assert not SandboxGateway(OutreachSettings()).enabled
    monkeypatch.setenv("RECAUDO_ENVIRONMENT", "development")
    assert PaymentsSettings().secrets_of("sandbox") == [DEV_SANDBOX_SECRET]
    assert SandboxGateway(OutreachSettings()).enabled


def test_a_problem_reads_as_its_variable_then_what_is_wrong() -> None:
    assert str(SettingProblem("RECAUDO_X", "is wrong")) == "RECAUDO_X: is wrong"
