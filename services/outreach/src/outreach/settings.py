"""Settings of the outreach service (env prefix RECAUDO_OUTREACH_)."""

from recaudo_common.settings import PlatformSettings, service_settings_config


class OutreachSettings(PlatformSettings):
    model_config = service_settings_config("outreach")

    scheduler_poll_s: float = 0.5
    scheduler_batch: int = 200
