"""The settings base every service's settings class inherits (pydantic-settings)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, PrivateAttr, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

# The shortest inbox retention that outlives a dead letter: 30 days on the dead-letter topics, and up to 7 more
# until Kafka rolls the segment that holds it (segment.ms); recaudo_common.bus.inbox_retention.
SHORTEST_INBOX_RETENTION_DAYS = 38.0
DEV_SECRET = "dev-insecure-link-secret"  # noqa: S105 - refused in production (production_problems)
DEV_SANDBOX_SECRET = "dev-insecure-sandbox-gateway-secret"  # noqa: S105 - the sandbox gateway moves no money
# base64 of b"recaudo-dev-insecure-vault-key!!" (32 bytes); refused in production (production_problems).
DEV_VAULT_MASTER_KEY = "cmVjYXVkby1kZXYtaW5zZWN1cmUtdmF1bHQta2V5ISE="
MIN_SECRET_BYTES = 32  # 256 bits: an HMAC key or a bearer secret no one guesses
DEV_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:54329/recaudo"
# The names other software already gives a platform-wide setting, read after RECAUDO_<SERVICE>_X and RECAUDO_X:
# DATABASE_URL (Heroku, Render, Fly.io, ...) and OpenTelemetry's base URL of an OTLP/HTTP collector.
CONVENTIONAL = {"database_url": "DATABASE_URL", "otlp_endpoint": "OTEL_EXPORTER_OTLP_ENDPOINT"}


@dataclass(frozen=True, order=True)
class SettingProblem:
    """One setting that production refuses: its environment variable and what is wrong with it."""

    variable: str
    problem: str

    def __str__(self) -> str:
        return f"{self.variable}: {self.problem}"


class UnsafeProductionSettings(Exception):
    """Production was asked to start on development settings; `problems` says which, one per setting."""

    def __init__(self, problems: list[SettingProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def weak_secret(value: str | None, *, defaults: Iterable[str] = ()) -> str | None:
    """What is wrong with a secret in production, or None: unset, a development default, a placeholder, short."""
    if not value:
        return "not set"
    if value in (DEV_SECRET, DEV_SANDBOX_SECRET, DEV_VAULT_MASTER_KEY, *defaults):
        return "is the development default"
    if "change-me" in value.lower() or "changeme" in value.lower():
        return "is a placeholder (change-me)"
    if len(value.encode()) < MIN_SECRET_BYTES:
        return f"is too short ({len(value.encode())} bytes; at least {MIN_SECRET_BYTES})"
    return None


def _not_a_master_key(value: str) -> str | None:
    # Imported here: the personal_data package imports these settings.
    from recaudo_common.personal_data.keyring import MasterKeyInvalid, master_key_from_text

    try:
        master_key_from_text(value)
    except MasterKeyInvalid as e:
        return str(e)
    return None


def not_https(url: str | None) -> str | None:
    return None if url is None or url.lower().startswith("https://") else f"is not https ({url.split('://')[0]})"


class _MostSpecificFirst(EnvSettingsSource):
    """Each platform-wide setting from the first of its variables that is set (PlatformSettings.variables_of):
    RECAUDO_<SERVICE>_X, then RECAUDO_X, then the conventional name. A service's own settings are left to the
    ordinary environment source (RECAUDO_<SERVICE>_X only)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        if field_name in PlatformSettings.model_fields and issubclass(self.settings_cls, PlatformSettings):
            for variable in self.settings_cls.variables_of(field_name):
                value = self.env_vars.get(variable if self.case_sensitive else variable.lower())
                if value is not None:
                    return value, field_name, False
        return None, field_name, False


class PlatformSettings(BaseSettings):
    """Settings shared by all services. Each service subclasses it with its own env prefix."""

    model_config = SettingsConfigDict(env_prefix="RECAUDO_", extra="ignore", populate_by_name=True)
    _suppliers: dict[str, str] = PrivateAttr(default_factory=dict)  # field -> the variable that set it

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = DEV_DATABASE_URL
    transport: Literal["postgres", "kafka"] = "postgres"
    kafka_bootstrap: str = "127.0.0.1:19092"
    topic_prefix: str = "recaudo"
    kafka_partitions: int = 6
    # How the Kafka clients reach the brokers (recaudo_common.bus.kafka_security). PLAINTEXT is the local broker
    # of `make kafka-start` and the tests; production on Kafka refuses anything but TLS (SASL_SSL or SSL).
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = None
    kafka_ssl_cafile: str | None = None  # the brokers' CA (PEM); the system's CAs when unset
    bootstrap_operator_key: str | None = None
    link_secret: str = DEV_SECRET
    # Where debtors and providers reach the platform: payment links and providers' status callbacks.
    public_url: str = "http://127.0.0.1:8000"
    # The sandbox payment gateway behind the debtor page signs its webhooks with this; payments accepts it.
    sandbox_gateway_secret: str = DEV_SANDBOX_SECRET
    # The sandbox gateway moves no money: never in production, whatever this says (production refuses it on).
    sandbox_gateway: bool = True
    log_level: str = "INFO"
    consumer_max_retries: int = 5
    consumer_retry_backoff_s: float = 0.2
    otlp_endpoint: str | None = None
    # The share of traces that start in this process kept and exported (a trace begun by a caller follows the
    # caller's decision, instrumentation.sampler). Every span costs the process that makes it, and more once
    # exported (docs/benchmarks.md, payment webhooks): deploy/k8s keeps 1 in 10.
    trace_sample_ratio: float = Field(1.0, ge=0, le=1)
    # The embedded event log deletes what is older than this and every live group has read (0: keep everything).
    event_log_retention_hours: float = Field(168, ge=0)
    # How long a consumer's inbox remembers an event it applied, which is what makes a second delivery a no-op
    # (0: for ever). At least SHORTEST_INBOX_RETENTION_DAYS, so that it outlives the dead letters a replay reads again:
    # recaudo_common.bus.inbox_retention says why, and what a consumer does with a record from before it.
    inbox_retention_days: float = Field(45, ge=0)
    max_body_bytes: int = 2 * 1024**3 + 1024**2
    # Requests one process serves at once; past it the server answers 503 at once. With JSON bodies of at most
    # 1 MiB buffered each, this bounds the memory requests can hold (docs/deploy.md, "Memory and disk"). uvicorn
    # counts a request until its task's done-callback has run, which on uvloop can come after the next request of
    # the same keep-alive connection has been read: a group commit answers a few dozen payments at once, and 64
    # connections then counted past 100 and were refused 503 (#24). 200 leaves room for twice as many.
    http_max_concurrency: int = 200
    # The proxies whose X-Forwarded-For the server believes (addresses, CIDR ranges, or "*" when only the Gateway
    # can reach the pods: the network-policies component): the client's address is then the browser's, not the
    # Gateway's, for the console's sign-in limits and refused webhooks' sources. Empty: only 127.0.0.1.
    http_trusted_proxies: tuple[str, ...] = ()
    # Wraps every person's data key (recaudo_common.personal_data): base64 of 32 random bytes. On rotation the
    # new key goes here and the old one into the previous keys (a JSON list), which only unwrap and find.
    vault_master_key: str = DEV_VAULT_MASTER_KEY
    vault_previous_master_keys: tuple[str, ...] = ()

    @field_validator("inbox_retention_days")
    @classmethod
    def _inbox_outlives_dead_letters(cls, days: float) -> float:
        if 0 < days < SHORTEST_INBOX_RETENTION_DAYS:
            raise ValueError(f"{days:g} days is shorter than the dead letters are kept; at least "
                             f"{SHORTEST_INBOX_RETENTION_DAYS:g} days, or 0 to keep every row")
        return days

    @field_validator("http_trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, proxies: tuple[str, ...]) -> tuple[str, ...]:
        for proxy in proxies:
            if proxy != "*":
                try:
                    ipaddress.ip_network(proxy, strict=False)
                except ValueError as e:
                    raise ValueError(f"{proxy!r} is neither an address, a CIDR range nor \"*\"") from e
        return proxies

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, _MostSpecificFirst(settings_cls), env_settings, dotenv_settings, file_secret_settings

    @classmethod
    def variables_of(cls, name: str) -> tuple[str, ...]:
        """The environment variables that may set a field, the most specific first: the service's own
        RECAUDO_<SERVICE>_X, then for a platform-wide setting RECAUDO_X and its conventional name (CONVENTIONAL)."""
        own = f"{cls.model_config.get('env_prefix', '')}{name}".upper()
        if name not in PlatformSettings.model_fields:
            return (own,)
        conventional = (CONVENTIONAL[name],) if name in CONVENTIONAL else ()
        return tuple(dict.fromkeys((own, f"RECAUDO_{name}".upper(), *conventional)))

    def model_post_init(self, context: Any, /) -> None:
        # Which variable set each field, as the environment was when these settings were read.
        present = {name.upper() for name in os.environ}
        self._suppliers = {name: found for name in type(self).model_fields
                           if (found := next((v for v in self.variables_of(name) if v in present), None))}

    @property
    def inbox_keep(self) -> dt.timedelta | None:
        """How long a consumer's inbox remembers an applied event; None: for ever."""
        return dt.timedelta(days=self.inbox_retention_days) if self.inbox_retention_days else None

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def sandbox_gateway_on(self) -> bool:
        """Whether the debtor page's sandbox gateway (and its signed webhooks) works: never in production."""
        return self.sandbox_gateway and not self.production

    def variable(self, name: str) -> str:
        """The environment variable of a field: the one that set it; if none did, the one to set (RECAUDO_X for a
        platform-wide setting, else the service's own)."""
        if supplier := self._suppliers.get(name):
            return supplier
        return f"RECAUDO_{name}".upper() if name in PlatformSettings.model_fields else self.variables_of(name)[0]

    def production_problems(self) -> list[SettingProblem]:
        """Every development setting production refuses to start with. A service's settings class extends it
        with its own checks (`return [*super().production_problems(), ...]`)."""
        found = []
        if weak := weak_secret(self.link_secret):
            found.append(SettingProblem(self.variable("link_secret"), f"link secret {weak}"))
        if self.bootstrap_operator_key is not None and (weak := weak_secret(self.bootstrap_operator_key)):
            found.append(SettingProblem(self.variable("bootstrap_operator_key"), f"bootstrap operator key {weak}"))
        if self.sandbox_gateway:
            found.append(SettingProblem(self.variable("sandbox_gateway"),
                                        "sandbox gateway enabled (it moves no money; set it to false)"))
            if weak := weak_secret(self.sandbox_gateway_secret):
                found.append(SettingProblem(self.variable("sandbox_gateway_secret"), f"sandbox gateway secret {weak}"))
        if wrong := not_https(self.public_url):
            found.append(SettingProblem(self.variable("public_url"), f"public URL (payment links, callbacks) {wrong}"))
        if weak := weak_secret(self.vault_master_key) or _not_a_master_key(self.vault_master_key):
            found.append(SettingProblem(self.variable("vault_master_key"), f"vault master key {weak}"))
        for previous in self.vault_previous_master_keys:
            if weak := weak_secret(previous) or _not_a_master_key(previous):
                found.append(SettingProblem(self.variable("vault_previous_master_keys"),
                                            f"a previous vault master key {weak}"))
        if self.transport == "kafka":
            found += self._kafka_problems()
        if self.database_url == DEV_DATABASE_URL:
            found.append(SettingProblem(self.variable("database_url"),
                                        "is the development default (embedded PostgreSQL, no password)"))
        return found

    def _kafka_problems(self) -> list[SettingProblem]:
        """Kafka in production: TLS to the brokers (events carry sealed personal data and the SASL password
        would cross in clear), SASL credentials when SASL is used, and a CA file that exists."""
        found = []
        protocol = self.kafka_security_protocol
        if protocol not in ("SASL_SSL", "SSL"):
            found.append(SettingProblem(self.variable("kafka_security_protocol"),
                                        f"Kafka without TLS ({protocol}; use SASL_SSL)"))
        if protocol.startswith("SASL_"):
            if not self.kafka_sasl_username:
                found.append(SettingProblem(self.variable("kafka_sasl_username"), "Kafka SASL username not set"))
            if not self.kafka_sasl_password:
                found.append(SettingProblem(self.variable("kafka_sasl_password"), "Kafka SASL password not set"))
            if self.kafka_sasl_mechanism == "PLAIN":
                found.append(SettingProblem(self.variable("kafka_sasl_mechanism"),
                                            "Kafka SASL PLAIN (use SCRAM-SHA-512)"))
        if self.kafka_ssl_cafile and not os.path.isfile(self.kafka_ssl_cafile):
            found.append(SettingProblem(self.variable("kafka_ssl_cafile"),
                                        f"Kafka CA file {self.kafka_ssl_cafile} does not exist"))
        return found


def production_problems(settings: Iterable[PlatformSettings]) -> list[SettingProblem]:
    """The problems of every settings object a process runs with, each once, when it runs in production."""
    found: set[SettingProblem] = set()
    for one in settings:
        if one.production:
            found.update(one.production_problems())
    return sorted(found)


def refuse_unsafe_production(settings: Iterable[PlatformSettings]) -> None:
    """Raises UnsafeProductionSettings, naming every offending variable, before anything starts."""
    if found := production_problems(settings):
        raise UnsafeProductionSettings(found)


def service_settings_config(service: str) -> SettingsConfigDict:
    """The settings config of one service: env prefix RECAUDO_<SERVICE>_."""
    return SettingsConfigDict(env_prefix=f"RECAUDO_{service.upper()}_", extra="ignore", populate_by_name=True)
