"""Settings of the segmentation service (env prefix RECAUDO_SEGMENTATION_)."""

from pydantic import Field

from recaudo_common.settings import PlatformSettings, service_settings_config


class SegmentationSettings(PlatformSettings):
    model_config = service_settings_config("segmentation")

    # How often the scheduler looks for a client company whose day has turned or whose strategy changed.
    resegment_poll_s: float = 5.0
    # A training started longer ago than this and not finished was abandoned (its process killed): marked failed.
    training_bound_s: float = Field(3600.0, gt=0)
