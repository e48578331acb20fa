"""Settings of the payments service (env prefix RECAUDO_PAYMENTS_)."""

from recaudo_common.settings import PlatformSettings, service_settings_config


class PaymentsSettings(PlatformSettings):
    model_config = service_settings_config("payments")

    # Gateway -> secret, or a list of secrets while one is being rotated (JSON in the environment).
    webhook_secrets: dict[str, str | list[str]] = {}
    promise_poll_s: float = 60.0

    def secrets_of(self, gateway: str) -> list[str]:
        value = self.webhook_secrets.get(gateway, [])
        secrets = [value] if isinstance(value, str) else list(value)
        if gateway == "sandbox" and self.environment != "production":
            secrets.append(self.sandbox_gateway_secret)  # the debtor page's sandbox gateway (outreach)
        return secrets
