"""Settings of the outreach service (env prefix RECAUDO_OUTREACH_)."""

from pydantic import Field, ValidationInfo, field_validator

from outreach.domain.attempts import check_lease_settings
from recaudo_common.settings import PlatformSettings, SettingProblem, not_https, service_settings_config, weak_secret

CHANNELS = ("sms", "email", "whatsapp", "voice", "letter")


class OutreachSettings(PlatformSettings):
    model_config = service_settings_config("outreach")

    scheduler_poll_s: float = 0.5
    scheduler_batch: int = 200
    # The operators' stop for every send (a provider's incident, a regulator's order): attempts keep being
    # planned and stay scheduled, and go out under the contact law once sending resumes.
    sending_paused: bool = False
    # The longest a provider call may take (answered or not); one that times out is looked up, never repeated.
    provider_timeout_s: float = 30.0
    # The lease of a claimed send: while it holds no other replica touches the attempt; once it expires with the
    # attempt still `sending` (its replica died or stalled), the message is looked up at its provider.
    sending_timeout_s: float = 120.0

    @field_validator("sending_timeout_s")
    @classmethod
    def _lease_outlasts_a_call(cls, value: float, info: ValidationInfo) -> float:
        check_lease_settings(value, info.data.get("provider_timeout_s", 30.0))
        return value

    # A receipt for a message id no send has recorded (the provider called back before the send committed) is
    # kept this long for the send to claim it; after that the provider was mistaken, and it is discarded.
    early_receipt_retention_h: float = 72.0
    max_send_tries: int = 5
    retry_backoff_s: float = 30.0
    link_ttl_days: int = 30
    # The best time to contact (#20): off, every attempt keeps its first allowed slot (a client company may also
    # turn it off for itself). Rates shrink toward their segment's with this prior strength (messages' worth),
    # learned from the messages sent over the lookback, a reply, promise or payment within the outcome window
    # counting as good; relearned this often.
    best_time_enabled: bool = True
    best_time_prior_strength: float = Field(20.0, gt=0)
    best_time_lookback_days: int = Field(90, ge=1)
    best_time_outcome_window_h: float = Field(72.0, gt=0)
    best_time_relearn_s: float = Field(3600.0, gt=0)
    # A client company's template renders (off the event loop) within this budget, checked inside the render:
    # wall time, loop iterations and calls counted together across nesting, and bytes of output (also the
    # largest text or list it may build). A save that breaks it on the sample is refused; a send, failed.
    template_render_budget_ms: int = Field(200, ge=1, le=10_000)
    template_max_iterations: int = Field(10_000, ge=1)
    template_max_output_bytes: int = Field(65_536, ge=1_024)
    # Channel -> provider: "sandbox", "smtp" (email), "twilio" (sms, whatsapp, voice) or "off". In production a channel
    # that is off or missing has no provider: its attempts are blocked (channel_not_configured), never sandboxed.
    providers: dict[str, str] = Field(default_factory=lambda: dict.fromkeys(CHANNELS, "sandbox"))
    # Messages a second each sender may send (a WhatsApp number, a Twilio number, Messaging Service or the account
    # for calls, the SMTP relay), keyed "provider/channel" or "provider" (e.g. {"twilio/sms": 30}); a sender not
    # named takes its provider's documented default (sending/pacing.py: Twilio SMS 1, WhatsApp 10, calls 1, Meta's
    # Cloud API 80). Enforced at the claim across replicas; a client company's WhatsApp number may set its own.
    provider_rate_per_s: dict[str, float] = Field(default_factory=lambda: {"sandbox": 500.0, "smtp": 20.0})
    sandbox_delivery_rate: float = Field(0.95, ge=0, le=1)
    sandbox_reply_rate: float = Field(0.0, ge=0, le=1)
    sandbox_opt_out_share: float = Field(0.5, ge=0, le=1)  # of the replies, how many say BAJA
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_from: str = "cobranza@recaudo.example"
    # DKIM (RFC 6376) on every e-mail when all three are set: the selector and domain of the DNS TXT record that
    # publishes the public key (selector._domainkey.domain), and the RSA private key in PEM (rsa-sha256; RFC 8301:
    # 2048 bits or more).
    smtp_dkim_selector: str | None = None
    smtp_dkim_domain: str | None = None
    smtp_dkim_private_key: str | None = Field(None, repr=False)
    # Bounces (RFC 3464 delivery status notifications): the first of these addresses is every e-mail's envelope
    # sender (MAIL FROM, the Return-Path), where a mail server that gives up on a message later sends its report.
    # With a port too, outreach's workers receive those reports themselves over SMTP (unsubscribe/receiver.py): mail
    # for these addresses only, at most smtp_bounce_max_bytes a message, smtp_bounce_max_sessions clients at a
    # time and smtp_bounce_max_sessions_per_peer of them from one address (so one sender cannot take every session
    # from the mail servers with real reports), each idle for at most smtp_bounce_timeout_s. Off without a port or
    # an address (smtp_from is the envelope sender then, and its mailbox gets the reports).
    smtp_bounce_addresses: list[str] = Field(default_factory=list)
    smtp_bounce_host: str = "127.0.0.1"
    smtp_bounce_port: int | None = Field(None, ge=1, le=65535)
    smtp_bounce_max_bytes: int = Field(1_048_576, ge=10_240, le=52_428_800)
    smtp_bounce_max_sessions: int = Field(20, ge=1, le=1000)
    smtp_bounce_max_sessions_per_peer: int = Field(4, ge=1, le=1000)
    smtp_bounce_timeout_s: float = Field(60.0, gt=0, le=600)

    @field_validator("smtp_bounce_addresses")
    @classmethod
    def _bounce_addresses_are_addresses(cls, value: list[str]) -> list[str]:
        for address in (a.strip() for a in value):
            local, at, domain = address.rpartition("@")
            if not (local and at and domain) or any(c in address for c in " <>,\r\n"):
                raise ValueError("each bounce address is a bare local@domain")
        return [a.strip().lower() for a in value]

    @property
    def bounce_receiver_on(self) -> bool:
        return self.smtp_bounce_port is not None and bool(self.smtp_bounce_addresses)

    @property
    def envelope_sender(self) -> str:
        """The SMTP provider's MAIL FROM: the first bounce address when there is one, else the From address."""
        return self.smtp_bounce_addresses[0] if self.smtp_bounce_addresses else self.smtp_from

    twilio_base_url: str = "https://api.twilio.com"
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_sms_from: str = ""
    twilio_whatsapp_from: str = ""
    # A Messaging Service sends SMS from its pool instead of twilio_sms_from (MessagingServiceSid), when set.
    twilio_messaging_service_sid: str = ""
    # Voice through Twilio Programmable Voice: the caller id (twilio_sms_from when empty), the Spanish voice
    # (https://www.twilio.com/docs/voice/twiml/say/text-speech), and the agents' line a debtor pressing 2 is put
    # through to (when empty, they are told an agent will call back and the agent desk gets the call).
    twilio_voice_from: str = ""
    twilio_voice_language: str = "es-MX"
    twilio_voice_name: str = "Polly.Mia"
    twilio_agent_number: str = ""
    # Where the debtor page's sandbox gateway posts its signed webhook (payments).
    sandbox_gateway_webhook_url: str | None = None

    def production_problems(self) -> list[SettingProblem]:
        found: list[SettingProblem] = super().production_problems()
        providers = self.variable("providers")
        for channel, name in sorted(self.providers.items()):
            if name == "sandbox":
                found.append(SettingProblem(providers, f"sandbox provider for {channel}"))
        used = set(self.providers.values())
        if "smtp" in used and not self.smtp_starttls:
            found.append(SettingProblem(self.variable("smtp_starttls"), "SMTP without STARTTLS"))
        dkim = (self.smtp_dkim_selector, self.smtp_dkim_domain, self.smtp_dkim_private_key)
        if "smtp" in used and any(dkim) and not all(dkim):
            found.append(SettingProblem(self.variable("smtp_dkim_private_key"),
                                        "DKIM needs its selector, domain and private key together"))
        if self.smtp_bounce_port is not None and not self.smtp_bounce_addresses:
            found.append(SettingProblem(self.variable("smtp_bounce_addresses"),
                                        "a bounce receiver port without the bounce address it takes mail for"))
        if "twilio" in used:
            if weak := weak_secret(self.twilio_auth_token):
                found.append(SettingProblem(self.variable("twilio_auth_token"), f"Twilio auth token {weak}"))
            if not self.twilio_account_sid:
                found.append(SettingProblem(self.variable("twilio_account_sid"), "Twilio account SID not set"))
            if wrong := not_https(self.twilio_base_url):
                found.append(SettingProblem(self.variable("twilio_base_url"), f"Twilio API URL {wrong}"))
            senders = (("sms", "twilio_sms_from"), ("whatsapp", "twilio_whatsapp_from"), ("voice", "twilio_voice_from"))
            for channel, sender in senders:
                borrowed = (channel == "sms" and self.twilio_messaging_service_sid) or (
                    channel == "voice" and self.twilio_sms_from)  # a service's pool; voice calls from the SMS number
                if self.providers.get(channel) == "twilio" and not (getattr(self, sender) or borrowed):
                    found.append(SettingProblem(self.variable(sender), f"no sender for {channel} through Twilio"))
        return found
