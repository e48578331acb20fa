"""The settings base every service's settings class inherits (pydantic-settings)."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-insecure-link-secret"  # noqa: S105 - refused outside development below
DEV_SANDBOX_SECRET = "dev-insecure-sandbox-gateway-secret"  # noqa: S105 - the sandbox gateway moves no money


def _shared(name: str) -> AliasChoices:
    """A platform-wide variable (RECAUDO_X) that a service may override with RECAUDO_<SERVICE>_X."""
    return AliasChoices(name, f"RECAUDO_{name.upper()}")


class PlatformSettings(BaseSettings):
    """Settings shared by all services. Each service subclasses it with its own env prefix."""

    model_config = SettingsConfigDict(env_prefix="RECAUDO_", extra="ignore", populate_by_name=True)

    environment: Literal["development", "test", "production"] = Field(
        "development", validation_alias=_shared("environment")
    )
    database_url: str = Field(
        "postgresql+asyncpg://postgres@127.0.0.1:54329/recaudo", validation_alias=_shared("database_url")
    )
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
    log_level: str = Field("INFO", validation_alias=_shared("log_level"))
    consumer_max_retries: int = Field(5, validation_alias=_shared("consumer_max_retries"))
    consumer_retry_backoff_s: float = Field(0.2, validation_alias=_shared("consumer_retry_backoff_s"))
    otlp_endpoint: str | None = Field(None, validation_alias=_shared("otlp_endpoint"))
    # The embedded event log deletes what is older than this and every live group has read (0: keep everything).
    event_log_retention_hours: float = Field(168, ge=0, validation_alias=_shared("event_log_retention_hours"))
    max_body_bytes: int = Field(2 * 1024**3 + 1024**2, validation_alias=_shared("max_body_bytes"))

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> PlatformSettings:
        if self.environment == "production" and self.link_secret == DEV_SECRET:
            raise ValueError("RECAUDO_LINK_SECRET must be set outside development")
        return self


def service_settings_config(service: str) -> SettingsConfigDict:
    """The settings config of one service: env prefix RECAUDO_<SERVICE>_."""
    return SettingsConfigDict(env_prefix=f"RECAUDO_{service.upper()}_", extra="ignore", populate_by_name=True)
