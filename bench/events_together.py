"""Events applied together benchmark: how fast the consumers #24 gave batch handlers in its last rounds apply
their events as they run (a fetched batch at once, a run in a few statements) beside one event at a time (each
its own run of the handler, in the batch's transaction) and beside the consumer's own floor (the same batches decoded
and claimed in its inbox in one transaction, nothing applied): payment.applied through segmentation and outreach,
account.updated (restated balances) through payments, account.recalled (a recall file) through the four services
that read it."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import asyncpg

from bench.common import fresh_database, machine, migrate_schemas, pid_in, process_cpu_s, save
from outreach.consumers import SUBSCRIPTIONS as OUTREACH
from payments.consumers import SUBSCRIPTIONS as PAYMENTS
from recaudo_common import embedded_pg
from recaudo_common.bus.base import Message
from recaudo_common.bus.consumer import ConsumerRuntime, HandlerContext, Subscriptions
from recaudo_common.db import asyncpg_dsn
from recaudo_common.events import AccountRecalled, AccountUpdated, Event, PaymentApplied
from recaudo_common.runtime import Platform, make_platform
from recaudo_common.settings import PlatformSettings
from reporting.consumers import SUBSCRIPTIONS as REPORTING
from segmentation.consumers import SUBSCRIPTIONS as SEGMENTATION

NOW = dt.datetime(2026, 4, 1, 15, 0, tzinfo=dt.UTC)
BATCH = 500  # what a consumer fetches at most at once (ConsumerRuntime.run)
CLIENT = "bench"


async def seed_segmentation(conn: asyncpg.Connection, accounts: int) -> None:
    await conn.execute("INSERT INTO segmentation.clients VALUES ('bench', 'Bench', 'CO', 'COP', 'America/Bogota', "
                       "'es-CO', '{sms}', now())")
    await conn.execute(f"""INSERT INTO segmentation.accounts (client_slug, account_ref, balance, days_past_due_at_as_of,
            as_of, contactable, updated_at, bucket)
        SELECT 'bench', 'A-' || i, 1000000, 45, DATE '2026-03-31', true, now(), '31-60'
        FROM generate_series(1, {accounts}) AS i""")
    # Measured by the scoring batch, as a live portfolio's accounts are: a fact has each measured again.
    await conn.execute("UPDATE segmentation.accounts SET scored_at = now()")


async def seed_outreach(conn: asyncpg.Connection, accounts: int) -> None:
    """Each account with its treatment (every 3 days) and four attempts to come, the first tomorrow: a payment
    today moves them (cadence.first_touch)."""
    await conn.execute("INSERT INTO outreach.clients (slug, name, country, currency, timezone, locale, "
                       "default_authorised_channels, updated_at) VALUES ('bench', 'Banco Bench', 'CO', 'COP', "
                       "'America/Bogota', 'es-CO', '{sms,email}', now())")
    await conn.execute(f"""INSERT INTO outreach.accounts (client_slug, account_ref, debtor_id, full_name, phones,
            email, region, balance, currency, authorised_channels, updated_at)
        SELECT 'bench', 'A-' || i, 'D-' || i, 'ANA GÓMEZ', ARRAY['+5730012' || lpad(i::text, 5, '0')], NULL, NULL,
               1000000, 'COP', '{{sms}}', now() FROM generate_series(1, {accounts}) AS i""")
    await conn.execute(f"""INSERT INTO outreach.treatments (client_slug, account_ref, plan_id, segment, treatment,
            channels, cadence_days, offer, offer_discount_pct, expected_net_recovery, propensity, days_past_due,
            strategy_arm, decided_at, planned)
        SELECT 'bench', 'A-' || i, md5('plan' || i)::uuid, '31-60/high', 'digital', '{{sms}}', 3, 'none', NULL, 1000,
               0.3, 45, 'champion', now(), true FROM generate_series(1, {accounts}) AS i""")
    await conn.execute(f"""INSERT INTO outreach.attempts (id, client_slug, account_ref, plan_id, channel, sequence,
            status, scheduled_at, created_at)
        SELECT gen_random_uuid(), 'bench', 'A-' || i, md5('plan' || i)::uuid, 'sms', s, 'scheduled',
               TIMESTAMPTZ '{NOW.isoformat()}' + make_interval(days => 1 + 3 * (s - 1)), now()
        FROM generate_series(1, {accounts}) AS i, generate_series(1, 4) AS s""")


def message(event: Event) -> Message:
    return Message(f"bench.{event.family}", event.key(CLIENT), event.envelope(client=CLIENT, occurred_at=NOW), {})


def payments(first: int, count: int) -> list[Message]:
    """Partial payments of accounts A-first.., one each; one in ten pays its account off (outreach stops it)."""
    return [message(PaymentApplied(
        payment_id=uuid.uuid4(), account_ref=f"A-{i}", amount=Decimal("1000000" if i % 10 == 0 else "100000"),
        currency="COP", paid_at=NOW, source="gateway", new_balance=Decimal(0 if i % 10 == 0 else 900000),
        account_status="paid" if i % 10 == 0 else "open")) for i in range(first, first + count)]


async def seed_payments(conn: asyncpg.Connection, accounts: int) -> None:
    """Each account opened with its placement in the ledger and a payment since: a restatement's new balance is
    the ledger's sum after its adjustment."""
    await conn.execute(f"""INSERT INTO payments.accounts (client_slug, account_ref, debtor_ref, currency, balance,
            updated_at) SELECT 'bench', 'A-' || i, md5('debtor' || i)::uuid, 'COP', 900000, now()
        FROM generate_series(1, {accounts}) AS i""")
    await conn.execute(f"""INSERT INTO payments.ledger_entries (client_slug, account_ref, kind, amount, booked_at)
        SELECT 'bench', 'A-' || i, kind, amount, now() FROM generate_series(1, {accounts}) AS i,
            (VALUES ('placement', 1000000), ('payment', -100000)) AS e(kind, amount)""")


async def seed_reporting(conn: asyncpg.Connection, accounts: int) -> None:
    await conn.execute(f"""INSERT INTO reporting.accounts (client_slug, account_ref, placed_balance, placed_at,
            balance) SELECT 'bench', 'A-' || i, 1000000, now(), 900000 FROM generate_series(1, {accounts}) AS i""")


def restatements(first: int, count: int) -> list[Message]:
    """The client company's new balances of accounts A-first.., one each (a portfolio file sent again)."""
    return [message(AccountUpdated(
        account_ref=f"A-{i}", portfolio_id=uuid.uuid4(), debtor_ref=uuid.uuid5(uuid.NAMESPACE_OID, str(i)),
        personal=None, has_phone=True, has_email=False, balance=Decimal(1_050_000 - 1000 * (i % 100)),
        currency="COP", days_past_due=45, as_of=NOW.date(), authorised_channels=["sms"],
        previous_balance=Decimal(1_000_000))) for i in range(first, first + count)]


def recalls(first: int, count: int) -> list[Message]:
    """The client company withdraws accounts A-first.. (a recall file)."""
    return [message(AccountRecalled(account_ref=f"A-{i}", recalled_at=NOW, reason="devuelta al cliente"))
            for i in range(first, first + count)]


@dataclass(frozen=True)
class Case:
    """One consumer and the events it is measured on."""

    name: str  # the service, whose schema is migrated
    subs: Subscriptions
    event: type[Event]
    unit: str  # what the events are, in the figures
    seed: Callable[[asyncpg.Connection, int], Awaitable[None]]
    messages: Callable[[int, int], list[Message]]


async def _nothing(event: Event, ctx: HandlerContext) -> None:
    return None


async def _nothing_at_once(events: Sequence[tuple[Event, HandlerContext]]) -> None:
    return None


def one_at_a_time(case: Case) -> Subscriptions:
    return dataclasses.replace(case.subs, batch_handlers={
        c: h for c, h in case.subs.batch_handlers.items() if c is not case.event})


def floor_of(case: Case) -> Subscriptions:
    return Subscriptions(case.subs.consumer, case.subs.schema, {case.event: _nothing}, {case.event: _nothing_at_once})


async def consume(platform: Platform, subs: Subscriptions, messages: list[Message],
                  postgres: Callable[[], float]) -> tuple[float, float, float]:
    """Seconds, this process's CPU seconds and PostgreSQL's, to apply the messages in fetched-size batches."""
    runtime = ConsumerRuntime(platform.db, platform.transport, subs, "bench", lambda: NOW)
    cpu, pg, started = time.process_time(), postgres(), time.perf_counter()
    for at in range(0, len(messages), BATCH):
        outcomes = await runtime.handle_batch(messages[at:at + BATCH])
        if set(outcomes) != {"processed"}:
            raise RuntimeError(f"{subs.consumer}: not every event was applied: {sorted(set(outcomes))}")
    return time.perf_counter() - started, time.process_time() - cpu, postgres() - pg


# CPU seconds per event by case: at once (here, PostgreSQL), then one at a time (here, PostgreSQL).
per_event: dict[str, tuple[float, float, float, float]] = {}


async def bench_case(case: Case, events: int) -> dict[str, str]:
    url, data = fresh_database(f"events-together-{case.name}-{case.unit}")
    postmaster = pid_in(data / "pgdata" / "postmaster.pid")
    try:
        await migrate_schemas(url, (case.name,))
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            await case.seed(conn, 2 * events + 2 * BATCH)
            await conn.execute("ANALYZE")
        finally:
            await conn.close()
        platform = make_platform(PlatformSettings(database_url=url), pool_size=4)
        try:
            def postgres() -> float:
                return process_cpu_s(postmaster(), with_children=True)
            # Each way warmed on accounts of its own (plans, caches), then measured on accounts of its own; one at
            # a time first, so the background work the runs leave (autovacuum, checkpoints) falls on the later runs.
            await consume(platform, one_at_a_time(case), case.messages(2 * events + 1, BATCH), postgres)
            await consume(platform, case.subs, case.messages(2 * events + BATCH + 1, BATCH), postgres)
            runs = {"one at a time": await consume(platform, one_at_a_time(case), case.messages(events + 1, events),
                                                   postgres)}
            runs["at once"] = await consume(platform, case.subs, case.messages(1, events), postgres)
            runs["floor"] = await consume(platform, floor_of(case), case.messages(1, events), postgres)
        finally:
            await platform.db.dispose()
    finally:
        embedded_pg.stop(data)

    def figure(run: tuple[float, float, float]) -> str:
        seconds, cpu, pg = run
        return (f"{events / seconds:,.0f} {case.unit}/s; CPU per event {1000 * cpu / events:.3f} ms here, "
                f"{1000 * pg / events:.3f} ms PostgreSQL")

    at_once, single, floor = runs["at once"], runs["one at a time"], runs["floor"]
    label = f"{case.name}, {case.event.type}"
    per_event[label] = (at_once[1] / events, at_once[2] / events, single[1] / events, single[2] / events)
    return {f"{label}: a fetched batch at once (as it runs)": figure(at_once),
            f"{label}: one at a time (each its own run of the handler, in the batch's transaction)": figure(single),
            f"{label}: floor: decoded and claimed in its inbox, nothing applied": figure(floor),
            f"{label}: at once against one at a time; against the floor (time)":
                f"{single[0] / at_once[0]:.1f}x faster; {at_once[0] / floor[0]:.1f}x the floor"}


CASES = (
    Case("segmentation", SEGMENTATION, PaymentApplied, "payments", seed_segmentation, payments),
    Case("outreach", OUTREACH, PaymentApplied, "payments", seed_outreach, payments),
    Case("payments", PAYMENTS, AccountUpdated, "restatements", seed_payments, restatements),
    Case("segmentation", SEGMENTATION, AccountRecalled, "recalls", seed_segmentation, recalls),
    Case("outreach", OUTREACH, AccountRecalled, "recalls", seed_outreach, recalls),
    Case("payments", PAYMENTS, AccountRecalled, "recalls", seed_payments, recalls),
    Case("reporting", REPORTING, AccountRecalled, "recalls", seed_reporting, recalls),
)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=int(os.environ.get("BENCH_ROWS", "20000")))
    args = parser.parse_args()
    figures = {"events": f"{args.events:,} of each, each for an account of its own, in batches of {BATCH}: partial "
                         "payments (one in ten pays its account off), restated balances (a portfolio sent again), "
                         "recalls (a recall file)"}
    for case in CASES:
        figures |= await bench_case(case, args.events)
    save("events_together", {
        "title": f"Events applied together: {args.events:,} payments, restatements and recalls through the consumers "
                 "that read them",
        "what": "Each service's consumer (`ConsumerRuntime.handle_batch`, as `recaudo serve` runs it) applies "
                "its events on the embedded default (durable settings), its accounts seeded directly: "
                "segmentation keeps each payment's outcome and fact, the ledger's balance and status, and assesses "
                "the account again (account.segmented); outreach keeps the status and the last payment, moves the "
                "account's four attempts to come past one spacing (or cancels them when the payment pays it off), "
                "with the trail's word; payments books each restated balance's change as an adjustment and sets "
                "the balance and status from the ledger; a recall stops the account in segmentation (assessed once "
                "more), cancels its attempts to come in outreach, and is marked in payments and in reporting's "
                "read model. Measured three ways in the same run: one at a "
                "time (each event its own run of the batch handler, so its statements for each event, all in the "
                "batch's one transaction), then a fetched batch at once (the run's events in a few statements, "
                "as it runs), each warmed and measured on accounts of its own, then the floor: the same batches "
                "decoded and claimed in the consumer's inbox in one transaction, with nothing applied.",
        "machine": machine(),
        "figures": figures,
        "notes": "No target is set for these consumers; #24 asks for set-based writes everywhere. Segmentation and "
                 "outreach each read every payment, so at 1,000 payments a second (docs/scaling.md) their CPU per "
                 "payment, here and in PostgreSQL, sizes the payment topic's readers; a portfolio sent again "
                 "restates every account at once, and a recall file recalls thousands. In cores at 1,000 events a second: "
                 + "; ".join(f"{label} {1000 * here:.2f} and {1000 * pg:.2f} of PostgreSQL's at once, "
                             f"{1000 * here_1:.2f} and {1000 * pg_1:.2f} one at a time"
                             for label, (here, pg, here_1, pg_1) in per_event.items())
                 + ". One at a time is the batch handler given one event in the batch's transaction (before #24's "
                 "batch handlers each event took its own statements, several per event, as this does; the "
                 "consumer's fallback after a failed batch also commits each event on its own, which costs "
                 "more). The benchmark process runs the consumer (its CPU is the service's); PostgreSQL's is its postmaster's and "
                 "backends', autovacuum's and the checkpointer's included. The floor's PostgreSQL CPU is one inbox "
                 "row per event.",
    })
    print("\n".join(f"{k}: {v}" for k, v in figures.items()))


if __name__ == "__main__":
    asyncio.run(main())
