"""Where each setting is read from: for a platform-wide setting the most specific variable wins (a service's own
RECAUDO_<SERVICE>_X, then RECAUDO_X, then the conventional name such as DATABASE_URL); a service's own setting has
one name; and production's refusal names the variable that actually supplied the offending value."""

from __future__ import annotations

import os

import pytest

from ingest.settings import IngestSettings
from outreach.settings import OutreachSettings
from payments.settings import PaymentsSettings
from recaudo.services import SETTINGS, settings_of
from recaudo_common.settings import CONVENTIONAL, DEV_DATABASE_URL, PlatformSettings, production_problems
from reporting.settings import ReportingSettings
from segmentation.settings import SegmentationSettings

pytestmark = pytest.mark.unit
SERVICES = [IngestSettings, SegmentationSettings, OutreachSettings, PaymentsSettings, ReportingSettings]
STRONG = "s" * 40
# Two valid values of every platform-wide setting, as the environment spells them, and as the settings read them.
TWO_VALUES: dict[str, tuple[tuple[str, object], tuple[str, object]]] = {
    "environment": (("test", "test"), ("production", "production")),
    "database_url": (("postgresql+asyncpg://a@db-a/x", "postgresql+asyncpg://a@db-a/x"),
                     ("postgresql+asyncpg://b@db-b/x", "postgresql+asyncpg://b@db-b/x")),
    "transport": (("postgres", "postgres"), ("kafka", "kafka")),
    "kafka_bootstrap": (("kafka-a:9092", "kafka-a:9092"), ("kafka-b:9092", "kafka-b:9092")),
    "topic_prefix": (("a", "a"), ("b", "b")),
    "kafka_partitions": (("3", 3), ("12", 12)),
    "bootstrap_operator_key": (("rk_a", "rk_a"), ("rk_b", "rk_b")),
    "link_secret": (("a" * 40, "a" * 40), ("b" * 40, "b" * 40)),
    "public_url": (("https://a.example", "https://a.example"), ("https://b.example", "https://b.example")),
    "sandbox_gateway_secret": (("c" * 40, "c" * 40), ("d" * 40, "d" * 40)),
    "sandbox_gateway": (("false", False), ("true", True)),
    "log_level": (("DEBUG", "DEBUG"), ("WARNING", "WARNING")),
    "consumer_max_retries": (("1", 1), ("9", 9)),
    "consumer_retry_backoff_s": (("0.5", 0.5), ("2", 2.0)),
    "otlp_endpoint": (("http://otel-a:4318", "http://otel-a:4318"), ("http://otel-b:4318", "http://otel-b:4318")),
    "trace_sample_ratio": (("0.1", 0.1), ("0.5", 0.5)),
    "event_log_retention_hours": (("0", 0.0), ("24", 24.0)),
    "inbox_retention_days": (("0", 0.0), ("60", 60.0)),
    "max_body_bytes": (("1024", 1024), ("2048", 2048)),
    "http_max_concurrency": (("10", 10), ("20", 20)),
    "http_trusted_proxies": (('["10.42.0.0/16"]', ("10.42.0.0/16",)), ('["*"]', ("*",))),
    "vault_master_key": (("QUFB" * 10 + "QUE=", "QUFB" * 10 + "QUE="), ("QkJC" * 10 + "QkI=", "QkJC" * 10 + "QkI=")),
    "vault_previous_master_keys": (('["QUFB"]', ("QUFB",)), ('["QkJC", "Q0ND"]', ("QkJC", "Q0ND"))),
    "kafka_security_protocol": (("SASL_SSL", "SASL_SSL"), ("SSL", "SSL")),
    "kafka_sasl_mechanism": (("SCRAM-SHA-256", "SCRAM-SHA-256"), ("SCRAM-SHA-512", "SCRAM-SHA-512")),
    "kafka_sasl_username": (("recaudo-ingest", "recaudo-ingest"), ("recaudo-payments", "recaudo-payments")),
    "kafka_sasl_password": (("a" * 32, "a" * 32), ("b" * 32, "b" * 32)),
    "kafka_ssl_cafile": (("/etc/kafka-a/ca.crt", "/etc/kafka-a/ca.crt"), ("/etc/kafka-b/ca.crt", "/etc/kafka-b/ca.crt")),
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No RECAUDO_ variable and no conventional name from the machine running the tests."""
    for name in list(os.environ):
        if name.upper().startswith("RECAUDO_") or name.upper() in CONVENTIONAL.values():
            monkeypatch.delenv(name)


def test_the_table_covers_every_platform_wide_setting() -> None:
    assert set(TWO_VALUES) == set(PlatformSettings.model_fields), "give a new platform-wide setting two values here"
    assert set(SETTINGS.values()) == set(SERVICES)


@pytest.mark.parametrize("service", SERVICES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("name", sorted(TWO_VALUES))
def test_a_services_own_variable_beats_the_platform_wide_one(monkeypatch: pytest.MonkeyPatch,
                                                              service: type[PlatformSettings], name: str) -> None:
    (platform_raw, platform_value), (own_raw, own_value) = TWO_VALUES[name]
    shared, own = f"RECAUDO_{name}".upper(), service.variables_of(name)[0]
    assert own == f"{service.model_config['env_prefix']}{name}".upper() != shared
    monkeypatch.setenv(shared, platform_raw)
    assert getattr(service(), name) == platform_value
    assert service().variable(name) == shared
    monkeypatch.setenv(own, own_raw)
    assert getattr(service(), name) == own_value
    assert service().variable(name) == own
    assert getattr(PlatformSettings(), name) == platform_value  # another service's variable is not the platform's
    others = [other for other in SERVICES if other is not service]
    assert all(getattr(other(), name) == platform_value for other in others)


@pytest.mark.parametrize(("environment", "read", "supplier"), [
    ({}, DEV_DATABASE_URL, "RECAUDO_DATABASE_URL"),
    ({"DATABASE_URL": "postgresql+asyncpg://conventional@db/x"},
     "postgresql+asyncpg://conventional@db/x", "DATABASE_URL"),
    ({"DATABASE_URL": "postgresql+asyncpg://conventional@db/x",
      "RECAUDO_DATABASE_URL": "postgresql+asyncpg://platform@db/x"},
     "postgresql+asyncpg://platform@db/x", "RECAUDO_DATABASE_URL"),
    ({"DATABASE_URL": "postgresql+asyncpg://conventional@db/x",
      "RECAUDO_DATABASE_URL": "postgresql+asyncpg://platform@db/x",
      "RECAUDO_OUTREACH_DATABASE_URL": "postgresql+asyncpg://outreach@db/x"},
     "postgresql+asyncpg://outreach@db/x", "RECAUDO_OUTREACH_DATABASE_URL"),
    ({"DATABASE_URL": "postgresql+asyncpg://conventional@db/x",
      "RECAUDO_OUTREACH_DATABASE_URL": "postgresql+asyncpg://outreach@db/x"},
     "postgresql+asyncpg://outreach@db/x", "RECAUDO_OUTREACH_DATABASE_URL"),
], ids=["default", "conventional", "platform-wide", "the-service's-own", "own-over-conventional"])
def test_the_database_url_comes_from_the_most_specific_variable(
        monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], read: str, supplier: str) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    outreach = OutreachSettings()
    assert (outreach.database_url, outreach.variable("database_url")) == (read, supplier)
    # `recaudo serve outreach` connects with what outreach reads; `recaudo serve all` with the platform-wide one.
    assert settings_of(["outreach"]).database_url == read
    platform = PlatformSettings()
    assert platform.database_url == environment.get("RECAUDO_DATABASE_URL",
                                                    environment.get("DATABASE_URL", DEV_DATABASE_URL))
    assert settings_of(["ingest", "outreach"]).database_url == platform.database_url


def test_the_otlp_endpoint_has_its_opentelemetry_name_last(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    assert ReportingSettings().otlp_endpoint == "http://collector:4318"
    monkeypatch.setenv("RECAUDO_OTLP_ENDPOINT", "http://recaudo-collector:4318")
    assert ReportingSettings().otlp_endpoint == "http://recaudo-collector:4318"


def test_only_the_conventional_names_are_read_without_the_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    # A container's unrelated ENVIRONMENT, LOG_LEVEL or LINK_SECRET must not reach the platform.
    for name, ((raw, _), _) in TWO_VALUES.items():
        if name not in CONVENTIONAL:
            monkeypatch.setenv(name.upper(), raw)
    for settings in (PlatformSettings(), *(service() for service in SERVICES)):
        assert all(getattr(settings, name) == field.default for name, field in PlatformSettings.model_fields.items()
                   if name not in CONVENTIONAL)


def test_a_services_own_setting_has_one_name(monkeypatch: pytest.MonkeyPatch) -> None:
    assert IngestSettings.variables_of("max_upload_bytes") == ("RECAUDO_INGEST_MAX_UPLOAD_BYTES",)
    monkeypatch.setenv("RECAUDO_MAX_UPLOAD_BYTES", "1000")
    monkeypatch.setenv("MAX_UPLOAD_BYTES", "1000")
    assert IngestSettings().max_upload_bytes == 2 * 1024**3
    monkeypatch.setenv("RECAUDO_INGEST_MAX_UPLOAD_BYTES", "5000")
    assert IngestSettings().max_upload_bytes == 5000
    assert IngestSettings().variable("max_upload_bytes") == "RECAUDO_INGEST_MAX_UPLOAD_BYTES"


GOOD = {"RECAUDO_ENVIRONMENT": "production", "RECAUDO_LINK_SECRET": "l" * 40, "RECAUDO_SANDBOX_GATEWAY": "false",
        "RECAUDO_PUBLIC_URL": "https://recaudo.example.com", "RECAUDO_VAULT_MASTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        "RECAUDO_DATABASE_URL": "postgresql+asyncpg://recaudo:pw@db:5432/recaudo",
        "RECAUDO_OUTREACH_PROVIDERS": '{"sms": "off"}'}


@pytest.mark.parametrize(("changes", "lines"), [
    ({"RECAUDO_DATABASE_URL": None, "DATABASE_URL": DEV_DATABASE_URL},
     ["DATABASE_URL: is the development default (embedded PostgreSQL, no password)"]),
    ({"RECAUDO_PAYMENTS_DATABASE_URL": DEV_DATABASE_URL, "DATABASE_URL": "postgresql+asyncpg://x:pw@db/x"},
     ["RECAUDO_PAYMENTS_DATABASE_URL: is the development default (embedded PostgreSQL, no password)"]),
    ({"RECAUDO_OUTREACH_LINK_SECRET": "short"},
     ["RECAUDO_OUTREACH_LINK_SECRET: link secret is too short (5 bytes; at least 32)"]),
    ({"RECAUDO_LINK_SECRET": "short", "RECAUDO_OUTREACH_LINK_SECRET": STRONG},
     ["RECAUDO_LINK_SECRET: link secret is too short (5 bytes; at least 32)"]),  # the platform's and payments'
    ({"RECAUDO_PAYMENTS_SANDBOX_GATEWAY": "true", "RECAUDO_PAYMENTS_SANDBOX_GATEWAY_SECRET": STRONG},
     ["RECAUDO_PAYMENTS_SANDBOX_GATEWAY: sandbox gateway enabled (it moves no money; set it to false)"]),
    ({"RECAUDO_OUTREACH_PUBLIC_URL": "http://recaudo.example.com"},
     ["RECAUDO_OUTREACH_PUBLIC_URL: public URL (payment links, callbacks) is not https (http)"]),
], ids=["conventional", "a-service's-own-database", "a-service's-own-secret", "the-platform-wide-secret",
        "a-service's-own-sandbox-gateway", "a-service's-own-public-url"])
def test_production_names_the_variable_that_supplied_the_offending_value(
        monkeypatch: pytest.MonkeyPatch, changes: dict[str, str | None], lines: list[str]) -> None:
    for name, value in {**GOOD, **changes}.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    settings = [PlatformSettings(), OutreachSettings(), PaymentsSettings()]
    assert [str(p) for p in production_problems(settings)] == lines


def test_a_service_set_to_production_on_its_own_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECAUDO_ENVIRONMENT", "development")
    monkeypatch.setenv("RECAUDO_PAYMENTS_ENVIRONMENT", "production")
    problems = {p.variable for p in production_problems([PlatformSettings(), PaymentsSettings()])}
    assert problems == {"RECAUDO_LINK_SECRET", "RECAUDO_SANDBOX_GATEWAY", "RECAUDO_SANDBOX_GATEWAY_SECRET",
                        "RECAUDO_PUBLIC_URL", "RECAUDO_DATABASE_URL", "RECAUDO_VAULT_MASTER_KEY"}
