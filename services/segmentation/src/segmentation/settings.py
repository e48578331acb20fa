"""Settings of the segmentation service (env prefix RECAUDO_SEGMENTATION_)."""

from recaudo_common.settings import PlatformSettings, service_settings_config


class SegmentationSettings(PlatformSettings):
    model_config = service_settings_config("segmentation")

    # How often the scheduler looks for a client company whose day has turned or whose strategy changed.
    resegment_poll_s: float = 5.0
