"""Settings of the reporting service (env prefix RECAUDO_REPORTING_)."""

from recaudo_common.settings import PlatformSettings, service_settings_config


class ReportingSettings(PlatformSettings):
    model_config = service_settings_config("reporting")
