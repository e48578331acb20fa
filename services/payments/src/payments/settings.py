"""Settings of the payments service (env prefix RECAUDO_PAYMENTS_)."""

from recaudo_common.settings import PlatformSettings, service_settings_config


class PaymentsSettings(PlatformSettings):
    model_config = service_settings_config("payments")
