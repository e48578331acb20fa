"""Settings of the reporting service (env prefix RECAUDO_REPORTING_)."""

from pydantic import Field

from recaudo_common.settings import PlatformSettings, service_settings_config


class ReportingSettings(PlatformSettings):
    model_config = service_settings_config("reporting")

    # Reports per second for one API key about one client company (0: no limit). A dashboard polling every
    # second asks a handful of questions a second; a script looping without pause is held to this.
    report_rate_per_s: float = 20.0
    report_burst: int = 60
    # Live report streams one caller (an API key, a person) may hold open at once per client company, per process: a
    # dashboard holds one, and each holds a request slot of the server for as long as it is open.
    live_streams_per_caller: int = Field(5, ge=1)
    # A live report's question is computed again at once when its client company's read models change (a payment),
    # but no sooner than this after its last computation started: under a steady stream of payments a question is
    # recomputed at most this often per process, not once per payment.
    live_report_gap_s: float = Field(0.1, ge=0.0)

    # How often the retention job looks for people whose data retention has run out (daily; it is idempotent, so
    # a restart that runs it early changes nothing).
    retention_sweep_s: float = 86400.0
