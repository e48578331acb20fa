"""The settings base every service's settings class inherits (pydantic-settings)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-insecure-link-secret"  # noqa: S105 - refused in production (production_problems)
DEV_SANDBOX_SECRET = "dev-insecure-sandbox-gateway-secret"  # noqa: S105 - the sandbox gateway moves no money
MIN_SECRET_BYTES = 32  # 256 bits: an HMAC key or a bearer secret no one guesses
DEV_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:54329/recaudo"


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
    if value in (DEV_SECRET, DEV_SANDBOX_SECRET, *defaults):
        return "is the development default"
    if "change-me" in value.lower() or "changeme" in value.lower():
        return "is a placeholder (change-me)"
    if len(value.encode()) < MIN_SECRET_BYTES:
        return f"is too short ({len(value.encode())} bytes; at least {MIN_SECRET_BYTES})"
    return None


def not_https(url: str | None) -> str | None:
    return None if url is None or url.lower().startswith("https://") else f"is not https ({url.split('://')[0]})"


def _shared(name: str) -> AliasChoices:
    """A platform-wide variable (RECAUDO_X) that a service may override with RECAUDO_<SERVICE>_X."""
    return AliasChoices(name, f"RECAUDO_{name.upper()}")


class PlatformSettings(BaseSettings):
    """Settings shared by all services. Each service subclasses it with its own env prefix."""

    model_config = SettingsConfigDict(env_prefix="RECAUDO_", extra="ignore", populate_by_name=True)

    environment: Literal["development", "test", "production"] = Field(
        "development", validation_alias=_shared("environment")
    )
    database_url: str = Field(DEV_DATABASE_URL, validation_alias=_shared("database_url"))
    transport: Literal["postgres", "kafka"] = Field("postgres", validation_alias=_shared("transport"))
    kafka_bootstrap: str = Field("127.0.0.1:19092", validation_alias=_shared("kafka_bootstrap"))
    topic_prefix: str = Field("recaudo", validation_alias=_shared("topic_prefix"))
    kafka_partitions: int = Field(6, validation_alias=_shared("kafka_partitions"))
    bootstrap_operator_key: str | None = Field(None, validation_alias=_shared("bootstrap_operator_key"))
    link_secret: str = Field(DEV_SECRET, validation_alias=_shared("link_secret"))
    # Where debtors and providers reach the platform: payment links and providers' status callbacks.
    public_url: str = Field("http://127.0.0.1:8000", validation_alias=_shared("public_url"))
    # The sandbox payment gateway behind the debtor page signs its webhooks with this; payments accepts it.
    sandbox_gateway_secret: str = Field(DEV_SANDBOX_SECRET, validation_alias=_shared("sandbox_gateway_secret"))
    # The sandbox gateway moves no money: never in production, whatever this says (production refuses it on).
    sandbox_gateway: bool = Field(True, validation_alias=_shared("sandbox_gateway"))
    log_level: str = Field("INFO", validation_alias=_shared("log_level"))
    consumer_max_retries: int = Field(5, validation_alias=_shared("consumer_max_retries"))
    consumer_retry_backoff_s: float = Field(0.2, validation_alias=_shared("consumer_retry_backoff_s"))
    otlp_endpoint: str | None = Field(None, validation_alias=_shared("otlp_endpoint"))
    # The embedded event log deletes what is older than this and every live group has read (0: keep everything).
    event_log_retention_hours: float = Field(168, ge=0, validation_alias=_shared("event_log_retention_hours"))
    max_body_bytes: int = Field(2 * 1024**3 + 1024**2, validation_alias=_shared("max_body_bytes"))
    # Requests one process serves at once; past it the server answers 503 at once. With JSON bodies of at most
    # 1 MiB buffered each, this bounds the memory requests can hold (docs/deploy.md, "Memory and disk").
    http_max_concurrency: int = Field(100, validation_alias=_shared("http_max_concurrency"))

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def sandbox_gateway_on(self) -> bool:
        """Whether the debtor page's sandbox gateway (and its signed webhooks) works: never in production."""
        return self.sandbox_gateway and not self.production

    def variable(self, name: str) -> str:
        """The environment variable of a field: RECAUDO_X for a platform-wide one, else the service's own."""
        prefix = "RECAUDO_" if name in PlatformSettings.model_fields else self.model_config.get("env_prefix", "")
        return f"{prefix}{name}".upper()

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
        if self.database_url == DEV_DATABASE_URL:
            found.append(SettingProblem(self.variable("database_url"),
                                        "is the development default (embedded PostgreSQL, no password)"))
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
