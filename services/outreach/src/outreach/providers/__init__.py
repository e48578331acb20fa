"""Channel providers behind one interface (base.Provider): the sandbox, SMTP email, and Twilio for SMS and
WhatsApp, one module each; here, the provider of each channel and each provider's rate limiter, built from
settings. (The debtor page's sandbox payment gateway is in gateway.py.)"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from outreach.providers.base import (
    CHANNEL_NOT_CONFIGURED,
    Lookup,
    Notification,
    Notifying,
    OneByOne,
    OutboundMessage,
    Provider,
    Receipt,
    SendError,
    Sent,
)
from outreach.providers.gateway import SandboxGateway
from outreach.providers.sandbox import Sandbox
from outreach.providers.smtp import Smtp
from outreach.providers.twilio import Twilio, twilio_signature
from outreach.providers.whatsapp_cloud import ChannelOf, CloudChannel, WhatsAppCloud
from outreach.settings import OutreachSettings
from outreach.whatsapp.store import channel_of
from recaudo_common.db import Database
from recaudo_common.personal_data import MasterKeyring

__all__ = ["CHANNEL_NOT_CONFIGURED", "PROVIDER_COSTS", "Lookup", "Notification", "Notifying", "OneByOne",
           "OutboundMessage", "Provider", "Providers", "Receipt", "SandboxGateway", "SendError", "Sent",
           "Smtp", "Twilio", "WhatsAppCloud", "twilio_signature"]

PROVIDER_COSTS = {"sandbox": Sandbox.cost, "smtp": Smtp.cost, "twilio": Twilio.cost,
                  WhatsAppCloud.name: WhatsAppCloud.cost}


class Providers:
    """The provider of each channel and each provider's rate limiter, built from settings.

    A channel set "off" has no provider: its attempts are blocked as `channel_not_configured`. Outside production
    a channel not mentioned falls back to the sandbox; in production the sandbox serves nothing, and a channel
    missing or (against the start-up check) "sandbox" is off too."""

    def __init__(self, db: Database, settings: OutreachSettings) -> None:
        self.sandbox = Sandbox(db, settings)
        self.sandbox_on = not settings.production
        built: dict[str, Provider] = {"sandbox": self.sandbox}
        if "smtp" in settings.providers.values():
            built["smtp"] = Smtp(settings)
        self.twilio = Twilio(settings) if "twilio" in settings.providers.values() else None
        if self.twilio is not None:
            built["twilio"] = self.twilio
        # WhatsApp through Meta's Cloud API serves the client companies that configured it (whatsapp/store.py),
        # whatever the settings' WhatsApp provider is for the others.
        self.whatsapp_cloud = WhatsAppCloud(db, _channels(settings), timeout_s=settings.provider_timeout_s,
                                            https_only=settings.production)
        built[self.whatsapp_cloud.name] = self.whatsapp_cloud
        self.by_name = built
        self.by_channel: dict[str, Provider] = {}
        self.off = {channel for channel, name in settings.providers.items() if name == "off"}
        for channel, name in settings.providers.items():
            if name == "off" or (name == "sandbox" and not self.sandbox_on):
                continue
            provider = built.get(name)
            if provider is None or channel not in provider.channels:
                raise ValueError(f"provider {name!r} cannot serve channel {channel!r}")
            self.by_channel[channel] = provider
        for key, rate in settings.provider_rate_per_s.items():  # each sender's pace (sending/pacing.py)
            if not 0 < rate < float("inf"):
                raise ValueError(f"the rate of {key!r} must be a positive number of messages a second")

    def notifying(self, name: str) -> Notifying | None:
        """The provider whose callbacks come to /v1/webhooks/outreach/{name}; None when there is none here (the
        sandbox only outside production: in production a sandbox receipt could forge opt-outs)."""
        if name == self.sandbox.name:
            return self.sandbox if self.sandbox_on else None
        return self.twilio if self.twilio is not None and name == self.twilio.name else None

    def for_channel(self, channel: str) -> Provider | None:
        """The channel's provider; None when the channel is not configured (in production only)."""
        if channel in self.off:
            return None
        return self.by_channel.get(channel, self.sandbox if self.sandbox_on else None)


def _channels(settings: OutreachSettings) -> ChannelOf:
    """A client company's Cloud API channel with its secrets opened under the platform's master keys."""
    keyring = MasterKeyring.of_settings(settings)

    async def channel(s: AsyncSession, client: str) -> CloudChannel | None:
        return await channel_of(s, keyring, client)

    return channel
