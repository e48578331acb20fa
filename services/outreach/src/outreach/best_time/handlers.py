"""Best time's handlers: the periodic relearning of every client company's windows from the outcomes of the
messages sent (announced to other services as contact.best_times_learned), the windows an API reads, a client
company's switch, and the slot planning puts an attempt in."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from outreach.best_time import store
from outreach.domain.best_time import (
    LearnedWindow,
    Observation,
    SlotChoice,
    best_of_each,
    best_slot,
    learn,
    local_slot,
)
from outreach.domain.best_time_experiment import BestTimeArm, Experiment, arm_of
from outreach.domain.client_rules import RulesOverride
from outreach.domain.contact_law import stricter_rules
from outreach.domain.timezones import debtor_zone
from outreach.settings import OutreachSettings
from outreach.store import outbox
from recaudo_common.db import Database
from recaudo_common.domain_errors import NotFound
from recaudo_common.events import BEST_SLOTS_PER_CHANNEL, MAX_BEST_SLOTS, BestSlot, ContactBestTimesLearned, Envelope
from recaudo_common.outbox import Cause, caused_by
from recaudo_common.runtime import Worker, periodic


async def relearn(db: Database, settings: OutreachSettings, *, now: dt.datetime) -> int:
    """Learns every client company's windows again from the messages sent over the lookback, in one
    transaction (the planner reads the old ones or the new ones, never half); the number of windows learned,
    0 when another replica is relearning right now. Best time turned off (`best_time_enabled`) forgets them all:
    every attempt keeps its first allowed slot."""
    with caused_by(Cause.command()):
        async with db.transaction() as s:
            if not await store.take_relearn_lock(s):
                return 0
            if not settings.best_time_enabled:
                forgotten = await store.forget_clients_except(s, [])
                await outbox.add(s, [learned_event(client, [], now) for client in forgotten])
                return 0
            history = await store.outcome_history(
                s, since=now - dt.timedelta(days=settings.best_time_lookback_days), until=now,
                outcome_window=dt.timedelta(hours=settings.best_time_outcome_window_h))
            by_client: dict[str, list[Observation]] = defaultdict(list)
            for h in history:
                # The hour in the debtor's own zone: the region's where the country spans several, else the
                # client's.
                dow, hour = local_slot(h.hour, debtor_zone(h.country, h.region, h.client_zone))
                by_client[h.client].append(Observation(h.segment, h.channel, dow, hour, h.sent, h.good))
            learned = 0
            announced: list[Envelope] = []
            for client, observations in sorted(by_client.items()):
                windows = learn(observations, prior_strength=settings.best_time_prior_strength)
                await store.replace_windows(s, client, windows, now)
                # A client company that turned best time off keeps learning but shows no slot: none is used.
                shown = windows if await store.is_enabled(s, client) else []
                announced.append(learned_event(client, shown, now))
                learned += len(windows)
            forgotten = await store.forget_clients_except(s, by_client)
            # In the transaction that stores them: reporting's account view shows the windows planning uses.
            await outbox.add(s, announced + [learned_event(client, [], now) for client in forgotten])
    return learned


RATE_PLACES = Decimal("0.0001")


def learned_event(client: str, windows: list[LearnedWindow], now: dt.datetime) -> Envelope:
    """contact.best_times_learned: the client company's few best slots per segment and channel (none: forgotten)."""
    slots = [BestSlot(segment=w.segment, channel=w.channel, rank=rank, dow=w.dow, hour=w.hour,
                      label=w.label, rate=Decimal(w.rate).quantize(RATE_PLACES), n=w.n)
             for rank, w in best_of_each(windows, per_channel=BEST_SLOTS_PER_CHANNEL, limit=MAX_BEST_SLOTS)]
    return ContactBestTimesLearned(learned_at=now, slots=slots).envelope(client=client, occurred_at=now)


def relearning(db: Database, settings: OutreachSettings, clock: Callable[[], dt.datetime]) -> Worker:
    """The worker that relearns every `best_time_relearn_s`, at the instants the injected clock gives."""

    async def step() -> None:
        await relearn(db, settings, now=clock())

    return periodic(step, settings.best_time_relearn_s)


@dataclass(frozen=True)
class ClientWindows:
    enabled: bool
    windows: list[tuple[LearnedWindow, dt.datetime]]
    experiment: Experiment


async def client_windows(db: Database, *, client: str, segment: str | None, channel: str | None) -> ClientWindows:
    async with db.transaction() as s:
        return ClientWindows(await store.is_enabled(s, client), await store.windows_of(s, client, segment, channel),
                             await store.experiment_of(s, client))


async def switch(db: Database, *, client: str, enabled: bool, now: dt.datetime,
                 experiment: Experiment = Experiment()) -> None:
    """Turns best time on or off for a client company, and its experiment against the first allowed slot;
    reporting's account view follows in the same transaction (off: no slot; on: the windows learned, which
    planning reads again). The experiment's arms apply to attempts planned from now on."""
    async with db.transaction() as s:
        await store.set_enabled(s, client, enabled, now, experiment)
        windows = [w for w, _ in await store.windows_of(s, client)] if enabled else []
        await outbox.add(s, [learned_event(client, windows, now)])


@dataclass(frozen=True)
class AccountBestTime:
    """An account's segment, its debtor's zone and its channels' learned windows."""

    segment: str | None
    timezone: str
    enabled: bool
    windows: list[tuple[LearnedWindow, dt.datetime]]


async def account_best_time(db: Database, *, client: str, account_ref: str) -> AccountBestTime:
    """The windows best time reads for this account's next attempts (its segment's, on its channels)."""
    async with db.transaction() as s:
        place = await store.account_place(s, client, account_ref)
        if place is None:
            raise NotFound(f"account {account_ref!r}")
        found = [] if place.segment is None else await store.windows_of(s, client, place.segment)
        return AccountBestTime(place.segment, debtor_zone(place.country, place.region, place.client_zone),
                               await store.is_enabled(s, client),
                               [(w, at) for w, at in found if w.channel in place.channels])


@dataclass(frozen=True)
class Debtor:
    """Where a planned attempt's debtor is, as the contact law's hours need it."""

    client: str
    segment: str
    country: str
    region: str | None
    client_zone: str
    client_rules: RulesOverride | None


class Slots:
    """The learned windows and best-time experiments of one planning batch's client companies and segments, read
    once."""

    def __init__(self, windows: dict[tuple[str, str, str], list[LearnedWindow]],
                 experiments: dict[str, Experiment] | None = None) -> None:
        self._windows = {key: {(w.dow, w.hour): w for w in found} for key, found in windows.items()}
        self._experiments = experiments or {}

    @classmethod
    async def read(cls, s: AsyncSession, keys: set[tuple[str, str]]) -> Slots:
        return cls(await store.windows_for(s, keys), await store.experiments_of(s, {client for client, _ in keys}))

    def arm(self, client: str, account_ref: str) -> BestTimeArm | None:
        """The account's arm in its client company's best-time experiment; None when it runs none."""
        return arm_of(client, account_ref, self._experiments.get(client, Experiment()))

    def place(self, debtor: Debtor, channel: str, at: dt.datetime, horizon: dt.timedelta) -> SlotChoice | None:
        """The best slot the contact law allows within the horizon; None (keep `at`, the first allowed slot,
        as before) when nothing was learned for the segment and channel or no slot in the horizon is open."""
        windows = self._windows.get((debtor.client, debtor.segment, channel))
        if not windows:
            return None
        rules = stricter_rules(debtor.country, debtor.client_rules.document() if debtor.client_rules else None)
        return best_slot(rules=rules, country=debtor.country,
                         timezone=debtor_zone(debtor.country, debtor.region, debtor.client_zone), channel=channel,
                         start=at, horizon=horizon, windows=windows)
