"""Fixtures of payments' integration tests: the payments API on a fresh database, a client company with two
placed accounts, an operator key, a gateway that signs what it sends, and account events as ingest writes them
(the debtor a person in the vault, their data sealed with their key)."""

import contextlib
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from payments.consumers import subscriptions
from payments.main import build
from payments.settings import PaymentsSettings
from recaudo_common.bus.base import Message
from recaudo_common.bus.consumer import ConsumerRuntime, Subscriptions
from recaudo_common.events import AccountPlaced, ClientRegistered, Event
from recaudo_common.personal_data import PersonalData, Vault
from recaudo_common.runtime import Platform, build_app, make_platform
from recaudo_common.testing import sealed_person, settings_for_test
from recaudo_common.testing_consumers import applied_together
from recaudo_common.webhook_signatures import sign

NOW = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)
# After every day the bank files of these tests say they were paid (up to 8 April): when a module reads them.
READ_AT = dt.datetime(2026, 4, 10, 15, 0, tzinfo=dt.UTC)


class Gateway:
    def __init__(self, platform: Platform, http: httpx.AsyncClient, operator: str) -> None:
        self.platform, self.http, self.operator = platform, http, operator

    async def send(self, body: dict[str, Any], *, secret: str = "new", at: dt.datetime = NOW,
                   signature: str | None = None) -> httpx.Response:
        raw = json.dumps(body).encode()
        return await self.http.post("/v1/webhooks/payments/pasarela", content=raw, headers={
            "Recaudo-Signature": signature if signature is not None else sign(raw, secret, at),
            "Content-Type": "application/json"})

    def as_operator(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.operator}"}

    async def manual(self, key: str, body: dict[str, Any]) -> httpx.Response:
        return await self.http.post("/v1/clients/banco/payments", json=body,
                                    headers={**self.as_operator(), "Idempotency-Key": key})

    async def balance(self, ref: str) -> tuple[Decimal, str, Decimal]:
        async with self.platform.db.transaction() as s:
            row = (await s.execute(text("SELECT balance, status FROM payments.accounts WHERE account_ref = :r"),
                                   {"r": ref})).one()
            ledger = await s.scalar(text("SELECT sum(amount) FROM payments.ledger_entries WHERE account_ref = :r"),
                                    {"r": ref})
        return row[0], row[1], ledger


@pytest.fixture
def payments_settings() -> PaymentsSettings:
    return PaymentsSettings(webhook_secrets={"pasarela": ["old", "new"]})


@contextlib.asynccontextmanager
async def gateway_on(platform: Platform, payments_settings: PaymentsSettings) -> AsyncIterator[Gateway]:
    """Payments' API on `platform` with client company banco and its accounts A-1 and A-2 placed."""
    app = build_app(platform, [build(platform, payments_settings)])  # the runtime's wiring, these settings
    await deliver(platform, ClientRegistered(slug="banco", name="Banco", country="CO", currency="COP",
                                             timezone="America/Bogota", locale="es-CO",
                                             default_authorised_channels=["sms"]),
                  *[await placed(platform, f"A-{i}", debtor_id=f"10{i}") for i in (1, 2)])
    _, operator = await platform.keys.create(role="operator", now=NOW)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield Gateway(platform, http, operator)


@contextlib.asynccontextmanager
async def gateway_at(database_url: str, payments_settings: PaymentsSettings, clock: Callable[[], dt.datetime]
                     ) -> AsyncIterator[Gateway]:
    """The payments API on this clock (a module whose payments are dated after NOW reads them later, READ_AT: a
    payment dated after the moment it is recorded is refused)."""
    platform = make_platform(settings_for_test(database_url), pool_size=8, clock=clock)
    async with gateway_on(platform, payments_settings) as opened:
        yield opened
    await platform.db.dispose()


@pytest.fixture
async def gateway(database_url: str, payments_settings: PaymentsSettings) -> AsyncIterator[Gateway]:
    async with gateway_at(database_url, payments_settings, lambda: NOW) as opened:
        yield opened


class Clock:
    """The platform's clock, moved by the test (a payment arriving after a deadline)."""

    def __init__(self, now: dt.datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
async def clocked(database_url: str, payments_settings: PaymentsSettings) -> AsyncIterator[tuple[Gateway, Clock]]:
    clock = Clock()
    async with gateway_at(database_url, payments_settings, clock) as opened:
        yield opened, clock


def payment(pid: str, ref: str | None = "A-1", amount: str = "30000.00", **extra: Any) -> dict[str, Any]:
    return {"type": "payment", "payment_id": pid, "client": "banco", "account_ref": ref, "amount": amount,
            "currency": "COP", "paid_at": NOW.isoformat(), "method": "pse", **extra}


def consumer(platform: Platform) -> Subscriptions:
    """Payments' subscriptions with a vault on the platform's settings, as main.build wires them."""
    return subscriptions(Vault.from_settings(platform.settings))


async def deliver(platform: Platform, *events: Event, one_by_one: bool = False, together: bool = False) -> None:
    """Events through payments' real consumer runtime (a batch, or one event at a time). `together`: the batch
    must be applied in one transaction, as the consumer's fast path does, not by its fallback of one event at a
    time (which would hide a batch handler's failure)."""
    runtime = ConsumerRuntime(platform.db, platform.transport, consumer(platform), "t", lambda: NOW)
    messages = [Message(f"t.{e.family}", e.key("banco"), e.envelope(client="banco", occurred_at=NOW), {})
                for e in events]
    if together:
        await applied_together(runtime, messages)
        return
    for batch in ([[m] for m in messages] if one_by_one else [messages]):
        assert set(await runtime.handle_batch(batch)) == {"processed"}


async def sealed_debtor(platform: Platform, id_number: str, *, full_name: str | None = None,
                        phones: tuple[str, ...] = (), email: str | None = None, client: str = "banco"
                        ) -> tuple[uuid.UUID, str]:
    """The person with this id number in the vault (created if new, as ingest does) and their data sealed with
    their key: what an account event carries instead of plaintext."""
    data = PersonalData(full_name=full_name or f"Deudor {id_number}", id_number=id_number, id_type="CC",
                        phones=phones, email=email)
    return await sealed_person(platform.db, Vault.from_settings(platform.settings), client, data, NOW)


async def placed(platform: Platform, ref: str, balance: str = "100000.00", debtor_id: str = "77", *,
                 full_name: str | None = None, phones: tuple[str, ...] = (), email: str | None = None,
                 client: str = "banco") -> AccountPlaced:
    """account.placed (v2) for this debtor of `client`, as ingest writes it."""
    debtor_ref, personal = await sealed_debtor(platform, debtor_id, full_name=full_name, phones=phones, email=email,
                                               client=client)
    return AccountPlaced(account_ref=ref, portfolio_id=uuid.uuid4(), debtor_ref=debtor_ref, personal=personal,
                         has_phone=bool(phones), has_email=email is not None, balance=Decimal(balance),
                         currency="COP", days_past_due=40, as_of=NOW.date(), authorised_channels=["sms"])


async def someone_waits_for_a_lock(gateway: Gateway) -> bool:
    """A transaction of this test's database waits for a lock (a row's, or an advisory one)."""
    async with gateway.platform.db.transaction() as s:
        return bool(await s.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")))
