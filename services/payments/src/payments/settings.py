"""Settings of the payments service (env prefix RECAUDO_PAYMENTS_)."""

from recaudo_common.settings import (
    PlatformSettings,
    SettingProblem,
    not_https,
    service_settings_config,
    weak_secret,
)


class PaymentsSettings(PlatformSettings):
    model_config = service_settings_config("payments")

    # Gateway -> secret, or a list of secrets while one is being rotated (JSON in the environment).
    webhook_secrets: dict[str, str | list[str]] = {}
    promise_poll_s: float = 60.0
    # Refused webhooks are counted per (gateway, source address, reason): at most this many such rows, the least
    # recently seen folded into one row per reason beyond it, so a flood of forgeries cannot grow the table.
    webhook_rejection_rows: int = 1000
    # A bank statement is read whole to reconcile it: bounded so one file cannot take a replica's memory.
    max_bank_file_bytes: int = 64 * 1024**2
    # Gateway reconciliation (#21): how often yesterday's reports are looked for (a failed one is run again then), and
    # PayU's Reports API when not its production URL (tests, PayU's sandbox), only https in production; refund
    # confirmations are checked there too.
    reconciliation_poll_s: float = 3600.0
    payu_reports_api_url: str | None = None
    # Gateway accounts (#21): how long a gateway's API may take to say what a notification did not sign (Mercado
    # Pago's payment, Wompi's transaction), and Wompi's API base URL when not told by the public key (tests, a proxy).
    gateway_api_timeout_s: float = 10.0
    wompi_api_base_url: str | None = None
    # Checkouts (#21): where the debtor's browser is sent (Wompi's Web Checkout, PayU's WebCheckout: PayU's sandbox URL
    # makes its form a test one) and Stripe's API base URL; each overridable for tests or a proxy, only https in
    # production. Mercado Pago's API is the account's own api_base_url.
    wompi_checkout_url: str = "https://checkout.wompi.co/p/"
    payu_checkout_url: str = "https://checkout.payulatam.com/ppp-web-gateway-payu/"
    stripe_api_base_url: str | None = None
    # How often checkouts never paid past their time are looked for and marked expired.
    checkout_expiry_poll_s: float = 300.0
    # How often the accounts the strategy does not pursue are checked against their client company's write-off rules.
    write_off_poll_s: float = 3600.0

    def secrets_of(self, gateway: str) -> list[str]:
        """The gateway's current secrets; none (the gateway is unknown) for the sandbox where it is off."""
        if gateway == "sandbox" and not self.sandbox_gateway_on:
            return []  # in production nothing may sign as the sandbox: it would forge money
        value = self.webhook_secrets.get(gateway, [])
        secrets = [value] if isinstance(value, str) else list(value)
        if gateway == "sandbox":
            secrets.append(self.sandbox_gateway_secret)  # the debtor page's sandbox gateway (outreach)
        return secrets

    def production_problems(self) -> list[SettingProblem]:
        found: list[SettingProblem] = super().production_problems()
        variable = self.variable("webhook_secrets")
        if "sandbox" in self.webhook_secrets:
            found.append(SettingProblem(variable, "sandbox gateway enabled (a secret for gateway 'sandbox')"))
        for gateway, value in sorted(self.webhook_secrets.items()):
            for secret in [value] if isinstance(value, str) else value:
                if weak := weak_secret(secret):
                    found.append(SettingProblem(variable, f"webhook secret of gateway {gateway!r} {weak}"))
        if wrong := not_https(self.wompi_api_base_url):
            # Wompi's answer decides where a payment's money goes: only over TLS.
            found.append(SettingProblem(self.variable("wompi_api_base_url"), f"Wompi's API base URL {wrong}"))
        for name, what in (("wompi_checkout_url", "Wompi's checkout URL"), ("payu_checkout_url", "PayU's checkout URL"),
                           ("stripe_api_base_url", "Stripe's API base URL")):
            if wrong := not_https(getattr(self, name)):
                # A debtor's card details and the secret key go there: only over TLS.
                found.append(SettingProblem(self.variable(name), f"{what} {wrong}"))
        if wrong := not_https(self.payu_reports_api_url):
            # The API login and key go there.
            found.append(SettingProblem(self.variable("payu_reports_api_url"), f"PayU's Reports API URL {wrong}"))
        return found
