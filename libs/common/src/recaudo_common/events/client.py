"""The client.* events: a client company registered or its settings changed, and each service that keeps a copy
saying it has it (topic `client`)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from recaudo_common.events.channels import Channel, CostedChannel
from recaudo_common.events.envelope import Event, register
from recaudo_common.instalments import MAX_INSTALMENTS, MIN_INSTALMENTS
from recaudo_common.promises import DEFAULT_PROMISE_WINDOW_DAYS, MAX_PROMISE_WINDOW_DAYS


class WriteOffRules(BaseModel):
    """A client company's rules for writing off what its strategy does not pursue (#22): an account segmentation
    keeps at treatment do_not_pursue for `after_days` days, and at least `min_days_past_due` days past due, is
    written off (reason uneconomic) by payments' periodic job."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    after_days: int = Field(ge=1, le=3650, description="days at do_not_pursue before the write-off")
    min_days_past_due: int = Field(0, ge=0, le=36500, description="the fewest days past due to write off")


class ClientSettings(Event):
    slug: str
    name: str
    country: str = Field(description="ISO 3166-1 alpha-2")
    currency: str = Field(description="ISO 4217")
    timezone: str = Field(description="IANA time zone")
    locale: str
    default_authorised_channels: list[Channel]
    max_discount_pct: Decimal = Field(Decimal("40"), description="the largest settlement discount it allows")
    promise_window_days: int = Field(DEFAULT_PROMISE_WINDOW_DAYS, ge=1, le=MAX_PROMISE_WINDOW_DAYS,
                                     description="how many days after its today a promise to pay may fall due "
                                                 "(absent in older events: the default, 30)")
    # The limits of an instalment plan (absent in older events: 2 to 12, no smallest instalment).
    instalments_min: int = Field(MIN_INSTALMENTS, ge=MIN_INSTALMENTS, le=MAX_INSTALMENTS,
                                 description="the fewest instalments a plan may have")
    instalments_max: int = Field(MAX_INSTALMENTS, ge=MIN_INSTALMENTS, le=MAX_INSTALMENTS,
                                 description="the most instalments a plan may have")
    min_instalment_amount: Decimal = Field(Decimal(0), ge=0, description="the smallest instalment (0: none)")
    # Added compatibly in version 1 (#22): absent in older events, and null until the client company sets one.
    cost_table: dict[CostedChannel, Decimal] | None = Field(
        None, description="the client company's own cost of one contact on each channel, in its currency (PUT "
                          "/v1/clients/{slug}/cost-table); null: none set, contacts cost what their provider reports")
    write_off_rules: WriteOffRules | None = Field(
        None, description="when what the strategy does not pursue is written off (PUT "
                          "/v1/clients/{slug}/write-off-rules); null: never automatically")


@register
class ClientRegistered(ClientSettings):
    type = "client.registered"
    family = "client"
    producer = "ingest"
    summary = "A client company was created; every service keeps its own copy of its settings."


@register
class ClientUpdated(ClientSettings):
    type = "client.updated"
    family = "client"
    producer = "ingest"
    summary = "A client company's settings changed."


# The services that keep their own copy of client companies' settings (recaudo_common.client_copy) and say so.
CLIENT_COPY_KEEPERS = ("segmentation", "outreach", "payments", "reporting")


@register
class ClientReady(Event):
    type = "client.ready"
    family = "client"
    producer = ", ".join(CLIENT_COPY_KEEPERS)
    summary = ("A service holds its copy of a newly registered client company and answers for it; ingest waits "
               "for these before answering the registration, so the client company is usable everywhere at once.")
    slug: str
    service: str = Field(description="the service that holds the copy: one of " + ", ".join(CLIENT_COPY_KEEPERS))
