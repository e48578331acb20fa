"""Best time's routes: a client company's learned windows (per segment and channel, in the debtor's local weekday
and hour), an account's (the account view's best time), and the client company's switch to turn best time off
(every attempt then keeps its first allowed slot)."""

import datetime as dt

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from outreach.best_time import handlers
from outreach.domain.best_time import DAY_NAMES, LearnedWindow
from outreach.domain.best_time_experiment import DEFAULT_BEST_TIME_SHARE, Experiment
from outreach.edge import ClientOfCaller, ClientOfOperator
from recaudo_common.dependencies import PlatformDep
from recaudo_common.events import Channel
from recaudo_common.routing import AuthorisedFirstRoute


class WindowOut(BaseModel):
    """v1: one learned slot: the debtor's local weekday (0 = Monday) and hour, its shrunk rate of good outcomes
    (reply, promise, payment) and the messages sent in it."""

    segment: str
    channel: str
    dow: int
    day: str
    hour: int
    label: str
    rate: float
    n: int
    learned_at: dt.datetime

    @classmethod
    def of(cls, w: LearnedWindow, learned_at: dt.datetime) -> "WindowOut":
        return cls(segment=w.segment, channel=w.channel, dow=w.dow, day=DAY_NAMES[w.dow], hour=w.hour, label=w.label,
                   rate=round(w.rate, 4), n=w.n, learned_at=learned_at)


WINDOW_EXAMPLES: list[JsonValue] = [
    {"segment": "61-90/high", "channel": "sms", "dow": 2, "day": "miércoles", "hour": 9, "label": "miércoles 9h",
     "rate": 0.2714, "n": 380, "learned_at": "2026-12-01T02:00:00-05:00"},
    {"segment": "61-90/high", "channel": "sms", "dow": 1, "day": "martes", "hour": 19, "label": "martes 19h",
     "rate": 0.2388, "n": 415, "learned_at": "2026-12-01T02:00:00-05:00"}]


class BestTimesOut(BaseModel):
    """v1: the learned windows; `best` holds each segment and channel's best slot, `windows` every slot;
    `experiment` and `best_time_share` the experiment against the first allowed slot, as set."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "client": "banco-andino", "enabled": True, "experiment": True, "best_time_share": 0.5,
        "best": WINDOW_EXAMPLES[:1], "windows": WINDOW_EXAMPLES}]})

    client: str
    enabled: bool
    experiment: bool = False
    best_time_share: float = DEFAULT_BEST_TIME_SHARE
    best: list[WindowOut]
    windows: list[WindowOut]


class AccountBestTimeOut(BaseModel):
    """v1: the account view's best time: its segment, its debtor's time zone (the windows' weekday and hour are
    in it), and each of its channels' best slot and every slot."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "client": "banco-andino", "account_ref": "CR-2024-000187", "segment": "61-90/high",
        "timezone": "America/Bogota", "enabled": True, "best": WINDOW_EXAMPLES[:1], "windows": WINDOW_EXAMPLES}]})

    client: str
    account_ref: str
    segment: str | None
    timezone: str
    enabled: bool
    best: list[WindowOut]
    windows: list[WindowOut]


def _best_of(found: list[tuple[LearnedWindow, dt.datetime]]) -> list[WindowOut]:
    """Each segment and channel's best slot (the earliest among equals)."""
    best: dict[tuple[str, str], tuple[LearnedWindow, dt.datetime]] = {}
    for w, at in found:
        kept = best.get((w.segment, w.channel))
        if kept is None or w.rate > kept[0].rate:
            best[(w.segment, w.channel)] = (w, at)
    return [WindowOut.of(w, at) for w, at in best.values()]


class BestTimeSettingsIn(BaseModel):
    """v1: best time on or off; `experiment` runs it against the first allowed slot (docs/strategy-model.md,
    Best time as an experiment): `best_time_share` of the client company's accounts (by a stable hash of the
    client company and the account) in the best_time arm, the rest in first_slot."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"enabled": True, "experiment": True, "best_time_share": 0.5}]})
    enabled: bool
    experiment: bool = False
    best_time_share: float = Field(DEFAULT_BEST_TIME_SHARE, gt=0, lt=1)


class BestTimeSettingsOut(BaseModel):
    """v1"""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"client": "banco-andino", "enabled": True, "experiment": True, "best_time_share": 0.5}]})
    client: str
    enabled: bool
    experiment: bool = False
    best_time_share: float = DEFAULT_BEST_TIME_SHARE


router = APIRouter(route_class=AuthorisedFirstRoute, prefix="/v1/clients/{slug}", tags=["outreach"])


@router.get("/best-times", response_model=BestTimesOut)
async def best_times(client: ClientOfCaller, platform: PlatformDep,
                     segment: str | None = Query(None, min_length=1, max_length=200),
                     channel: Channel | None = None) -> BestTimesOut:
    """The client company's learned windows, of one segment or channel when asked."""
    found = await handlers.client_windows(platform.db, client=client.slug, segment=segment, channel=channel)
    return BestTimesOut(client=client.slug, enabled=found.enabled, experiment=found.experiment.on,
                        best_time_share=found.experiment.best_time_share, best=_best_of(found.windows),
                        windows=[WindowOut.of(w, at) for w, at in found.windows])


@router.get("/accounts/{account_ref}/best-time", response_model=AccountBestTimeOut)
async def account_best_time(account_ref: str, client: ClientOfCaller, platform: PlatformDep) -> AccountBestTimeOut:
    """The account view's best time: the learned windows its next attempts are placed by (404 for an account
    not known here)."""
    found = await handlers.account_best_time(platform.db, client=client.slug, account_ref=account_ref)
    return AccountBestTimeOut(client=client.slug, account_ref=account_ref, segment=found.segment,
                              timezone=found.timezone, enabled=found.enabled, best=_best_of(found.windows),
                              windows=[WindowOut.of(w, at) for w, at in found.windows])


@router.put("/best-times/settings", response_model=BestTimeSettingsOut)
async def put_settings(body: BestTimeSettingsIn, client: ClientOfOperator,
                       platform: PlatformDep) -> BestTimeSettingsOut:
    """Turns best time on or off for the client company (off: the first allowed slot), and its experiment against
    the first allowed slot (read out at reporting's GET .../best-time/experiment); attempts planned from now on
    follow it."""
    experiment = Experiment(body.experiment, body.best_time_share)
    await handlers.switch(platform.db, client=client.slug, enabled=body.enabled, now=platform.clock(),
                          experiment=experiment)
    return BestTimeSettingsOut(client=client.slug, enabled=body.enabled, experiment=experiment.on,
                               best_time_share=experiment.best_time_share)
