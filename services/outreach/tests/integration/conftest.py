"""Fixtures of outreach's integration tests: a platform on a fresh database with a movable clock, the outreach
API in process, and helpers to deliver events and run the scheduler."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text

from outreach.consumers import SUBSCRIPTIONS
from outreach.edge import APP_STATE, OutreachState
from outreach.main import build
from outreach.providers import Providers
from outreach.sending.handlers import reconcile_expired, run_due_attempts
from outreach.settings import OutreachSettings
from recaudo_common.bus.base import Message
from recaudo_common.bus.consumer import ConsumerRuntime, Subscriptions
from recaudo_common.events import AccountPlaced, AccountSegmented, ClientRegistered, Event
from recaudo_common.local_ports import free_port
from recaudo_common.personal_data import MasterKeyring, PersonalData, Vault
from recaudo_common.runtime import Platform, build_app, make_platform
from recaudo_common.testing import sealed_person, settings_for_test
from recaudo_common.testing_clock import HandClock
from recaudo_common.testing_consumers import applied_together

# Wednesday 2026-03-04 10:00 in Bogotá.
WEDNESDAY_10 = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)


@dataclass
class Outreach:
    platform: Platform
    settings: OutreachSettings
    providers: Providers
    http: httpx.AsyncClient
    operator: str
    clock: HandClock[dt.datetime]
    client_key: str = ""
    seq: list[int] = field(default_factory=lambda: [0])
    subscriptions: Subscriptions = SUBSCRIPTIONS  # the unit's own, with the platform's vault (make_outreach)
    vault: Vault = field(default_factory=lambda: Vault(MasterKeyring(bytes(32))))

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.operator}"}

    async def sealed(self, data: PersonalData, client: str = "banco") -> tuple[uuid.UUID, str]:
        """The person of `data`'s id number at `client` (found or created in the vault, as ingest does) and
        their data sealed with their key: what an account event version 2 carries."""
        return await sealed_person(self.platform.db, self.vault, client, data, self.clock.now)

    async def placed(self, ref: str, *, client: str = "banco", debtor: str = "1020304050",
                     name: str = "MARÍA PÉREZ", phones: tuple[str, ...] = ("+573001234567",),
                     email: str | None = "deudor@example.com", address: str | None = None,
                     channels: tuple[str, ...] = ("sms", "email", "whatsapp"), balance: str = "1500000",
                     region: str | None = None) -> AccountPlaced:
        """account.placed version 2 as ingest writes it: the debtor as a pseudonym and their data sealed."""
        debtor_ref, personal = await self.sealed(PersonalData(
            full_name=name, id_number=debtor, id_type="CC", phones=phones, email=email, address=address), client)
        return AccountPlaced(account_ref=ref, portfolio_id=uuid.uuid4(), debtor_ref=debtor_ref, personal=personal,
                             has_phone=bool(phones), has_email=bool(email), balance=Decimal(balance),
                             currency="COP", days_past_due=45, as_of=dt.date(2026, 3, 4),
                             authorised_channels=list(channels), region=region)  # type: ignore[arg-type]

    async def deliver(self, *events: Event, client: str = "banco", together: bool = False) -> None:
        """The events as one fetched batch of the consumer. `together`: the batch must be applied in one
        transaction, as the consumer's fast path does, not by its fallback of one event at a time (which would
        hide a batch handler's failure)."""
        runtime = ConsumerRuntime(self.platform.db, self.platform.transport, self.subscriptions, "t", self.clock)
        messages = []
        for e in events:
            self.seq[0] += 1
            envelope = e.envelope(client=client, occurred_at=self.clock.now + dt.timedelta(microseconds=self.seq[0]))
            messages.append(Message(f"t.{e.family}", e.key(client), envelope, {}))
        if together:
            await applied_together(runtime, messages)
        else:
            assert set(await runtime.handle_batch(messages)) == {"processed"}

    async def tick(self) -> int:
        return await run_due_attempts(self.platform.db, self.providers, self.settings, now=self.clock.now)

    async def reconcile(self) -> int:
        """What a replica's scheduler does with sends whose lease expired."""
        return await reconcile_expired(self.platform.db, self.providers, self.settings, now=self.clock.now)

    async def sql(self, query: str, **params: Any) -> list[Any]:
        async with self.platform.db.transaction() as s:
            return list((await s.execute(text(query), params)).all())

    async def attempts(self, ref: str) -> list[tuple[str, str]]:
        rows = await self.sql("SELECT channel, status FROM outreach.attempts WHERE account_ref = :r "
                              "ORDER BY scheduled_at, sequence", r=ref)
        return [(r[0], r[1]) for r in rows]


def client_event(slug: str = "banco", country: str = "CO", timezone: str = "America/Bogota",
                 locale: str = "es-CO", currency: str = "COP") -> ClientRegistered:
    return ClientRegistered(slug=slug, name="Banco Andino", country=country, currency=currency, timezone=timezone,
                            locale=locale, default_authorised_channels=["sms", "email", "whatsapp", "voice", "agent"])


def segmented(ref: str, channels: tuple[str, ...] = ("sms",), cadence_days: int = 3, *, value: str = "100000",
              offer: str | None = "settlement", discount: str | None = "20") -> AccountSegmented:
    return AccountSegmented(
        account_ref=ref, days_past_due=45, bucket="31-60", bucket_at_placement="31-60", segment="31-60/high",
        treatment="digital", channels=list(channels), propensity=Decimal("0.4"),  # type: ignore[arg-type]
        cost_to_collect=Decimal("100"), expected_net_recovery=Decimal(value), strategy_version=1,
        strategy_arm="champion", model_version="scorecard-v1", why="test", trigger="placement",
        cadence_days=cadence_days, offer=offer, offer_discount_pct=Decimal(discount) if discount else None)  # type: ignore[arg-type]


async def make_outreach(database_url: str, **settings: Any) -> tuple[Outreach, Any]:
    clock = HandClock(WEDNESDAY_10)
    platform = make_platform(settings_for_test(database_url), pool_size=6, clock=clock)
    # The sandbox fails a share of sends by the attempt's (random) id: a test that asserts a delivery would fail
    # that share of its runs. Tests want every send delivered unless they say otherwise.
    config = OutreachSettings(**{"sandbox_delivery_rate": 1.0, **settings})
    unit = build(platform, config)
    app = build_app(platform, [unit])  # the runtime's wiring, these settings
    state = unit.app_state[APP_STATE]
    assert isinstance(state, OutreachState)
    providers = state.providers  # the ones the app's routes use, so a test's sends and receipts meet
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
    _, operator = await platform.keys.create(role="operator", now=clock.now)
    _, client_key = await platform.keys.create(role="client", client_slug="banco", now=clock.now)
    assert unit.subscriptions is not None
    o = Outreach(platform, config, providers, http, operator, clock, client_key, subscriptions=unit.subscriptions,
                 vault=Vault.from_settings(platform.settings))
    await o.deliver(client_event())
    return o, http


@pytest.fixture
async def outreach(database_url: str) -> AsyncIterator[Outreach]:
    o, http = await make_outreach(database_url)
    yield o
    await http.aclose()
    await o.platform.db.dispose()


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str  # the envelope sender (Return-Path), which is not the From header
    raw: bytes  # the message as it arrived, byte for byte


class MailSink:
    """The platform's submission server, a real local SMTP server (aiosmtpd): keeps every message it takes; refuses
    the recipients in `dead` at RCPT TO, as Postfix does."""

    def __init__(self) -> None:
        self.received: list[ReceivedMail] = []
        self.dead: set[str] = set()
        self.port = 0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.dead:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in virtual mailbox table"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(ReceivedMail(envelope.mail_from, envelope.original_content))
        return "250 OK"


@pytest.fixture
def mail_server() -> Iterator[MailSink]:
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    sink.port = controller.port
    yield sink
    controller.stop()
