"""Settings of the segmentation service (env prefix RECAUDO_SEGMENTATION_)."""

from pydantic import Field, field_validator

from recaudo_common.settings import SHORTEST_INBOX_RETENTION_DAYS, PlatformSettings, service_settings_config


class SegmentationSettings(PlatformSettings):
    model_config = service_settings_config("segmentation")

    # How often the scheduler looks for a client company whose day has turned or whose strategy changed.
    resegment_poll_s: float = 5.0
    # A training started longer ago than this and not finished was abandoned (its process killed): marked failed.
    training_bound_s: float = Field(3600.0, gt=0)
    # The ledger's and a plan's words kept for an account not placed here yet are dropped once its placement has not
    # come this long after the last of them (segmentation.unplaced_words): at least as long as a placement's dead
    # letter may wait for a replay. Looked for this often.
    unplaced_words_retention_days: float = 45.0
    unplaced_words_poll_s: float = Field(3600.0, gt=0)

    @field_validator("unplaced_words_retention_days")
    @classmethod
    def _words_outlive_dead_letters(cls, days: float) -> float:
        if days < SHORTEST_INBOX_RETENTION_DAYS:
            raise ValueError(f"{days:g} days is shorter than a placement's dead letter is kept; at least "
                             f"{SHORTEST_INBOX_RETENTION_DAYS:g} days")
        return days
