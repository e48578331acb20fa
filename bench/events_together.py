"""Payment events benchmark: how fast segmentation and outreach apply payment.applied as their consumers do (a
fetched batch at once, a run of payments in a few statements), beside one event at a time (their statements for
each payment, as before #24's batch handlers) and beside the consumer's own floor: the same batches decoded and
claimed in its inbox in one transaction, with nothing applied."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal

import asyncpg

from bench.common import fresh_database, machine, migrate_schemas, pid_in, process_cpu_s, save
from outreach.consumers import SUBSCRIPTIONS as OUTREACH
from recaudo_common import embedded_pg
from recaudo_common.bus.base import Message
from recaudo_common.bus.consumer import ConsumerRuntime, HandlerContext, Subscriptions
from recaudo_common.db import asyncpg_dsn
from recaudo_common.events import Event, PaymentApplied
from recaudo_common.runtime import Platform, make_platform
from recaudo_common.settings import PlatformSettings
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


def payments(first: int, count: int) -> list[Message]:
    """Partial payments of accounts A-first.., one each; one in ten pays its account off (outreach stops it)."""
    messages = []
    for i in range(first, first + count):
        paid_off = i % 10 == 0
        event = PaymentApplied(
            payment_id=uuid.uuid4(), account_ref=f"A-{i}", amount=Decimal("1000000" if paid_off else "100000"),
            currency="COP", paid_at=NOW, source="gateway", new_balance=Decimal(0 if paid_off else 900000),
            account_status="paid" if paid_off else "open")
        messages.append(Message("bench.payment", event.key(CLIENT), event.envelope(client=CLIENT, occurred_at=NOW),
                                {}))
    return messages


async def _nothing(event: Event, ctx: HandlerContext) -> None:
    return None


async def _nothing_at_once(events: Sequence[tuple[Event, HandlerContext]]) -> None:
    return None


def one_at_a_time(subs: Subscriptions) -> Subscriptions:
    return dataclasses.replace(subs, batch_handlers={
        c: h for c, h in subs.batch_handlers.items() if c is not PaymentApplied})


def floor_of(subs: Subscriptions) -> Subscriptions:
    return Subscriptions(subs.consumer, subs.schema, {PaymentApplied: _nothing},
                         {PaymentApplied: _nothing_at_once})


async def consume(platform: Platform, subs: Subscriptions, messages: list[Message],
                  postgres: Callable[[], float]) -> tuple[float, float, float]:
    """Seconds, this process's CPU seconds and PostgreSQL's, to apply the messages in fetched-size batches."""
    runtime = ConsumerRuntime(platform.db, platform.transport, subs, "bench", lambda: NOW)
    cpu, pg, started = time.process_time(), postgres(), time.perf_counter()
    for at in range(0, len(messages), BATCH):
        outcomes = await runtime.handle_batch(messages[at:at + BATCH])
        if set(outcomes) != {"processed"}:
            raise RuntimeError(f"{subs.consumer}: not every payment was applied: {sorted(set(outcomes))}")
    return time.perf_counter() - started, time.process_time() - cpu, postgres() - pg


# CPU seconds per payment by service: at once (here, PostgreSQL), then one at a time (here, PostgreSQL).
per_payment: dict[str, tuple[float, float, float, float]] = {}


async def bench_service(name: str, subs: Subscriptions, seed: Callable[[asyncpg.Connection, int], Awaitable[None]],
                        events: int) -> dict[str, str]:
    url, data = fresh_database(f"payment-events-{name}")
    postmaster = pid_in(data / "pgdata" / "postmaster.pid")
    try:
        await migrate_schemas(url, (name,))
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            await seed(conn, 2 * events + 2 * BATCH)
            await conn.execute("ANALYZE")
        finally:
            await conn.close()
        platform = make_platform(PlatformSettings(database_url=url), pool_size=4)
        try:
            def postgres() -> float:
                return process_cpu_s(postmaster(), with_children=True)
            # Each way warmed on accounts of its own (plans, caches), then measured on accounts of its own; one at
            # a time first, so the background work the runs leave (autovacuum, checkpoints) falls on the later runs.
            await consume(platform, one_at_a_time(subs), payments(2 * events + 1, BATCH), postgres)
            await consume(platform, subs, payments(2 * events + BATCH + 1, BATCH), postgres)
            runs = {"one at a time": await consume(platform, one_at_a_time(subs), payments(events + 1, events),
                                                   postgres)}
            runs["at once"] = await consume(platform, subs, payments(1, events), postgres)
            runs["floor"] = await consume(platform, floor_of(subs), payments(1, events), postgres)
        finally:
            await platform.db.dispose()
    finally:
        embedded_pg.stop(data)

    def figure(run: tuple[float, float, float]) -> str:
        seconds, cpu, pg = run
        return (f"{events / seconds:,.0f} payments/s; CPU per payment {1000 * cpu / events:.3f} ms here, "
                f"{1000 * pg / events:.3f} ms PostgreSQL")

    at_once, single, floor = runs["at once"], runs["one at a time"], runs["floor"]
    per_payment[name] = (at_once[1] / events, at_once[2] / events, single[1] / events, single[2] / events)
    return {f"{name}: a fetched batch at once (as it runs)": figure(at_once),
            f"{name}: one payment at a time (each its own run, as the consumer's fallback applies them)":
                figure(single),
            f"{name}: floor: decoded and claimed in its inbox, nothing applied": figure(floor),
            f"{name}: at once against one at a time; against the floor (time)":
                f"{single[0] / at_once[0]:.1f}x faster; {at_once[0] / floor[0]:.1f}x the floor"}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=int(os.environ.get("BENCH_ROWS", "20000")))
    args = parser.parse_args()
    figures = {"payments": f"{args.events:,} partial payments of as many accounts (one in ten pays its account off), "
                           f"in batches of {BATCH}"}
    figures |= await bench_service("segmentation", SEGMENTATION, seed_segmentation, args.events)
    figures |= await bench_service("outreach", OUTREACH, seed_outreach, args.events)
    save("payment_events", {
        "title": f"Payment events: {args.events:,} payment.applied through segmentation and outreach",
        "what": "Each service's consumer (`ConsumerRuntime.handle_batch`, as `recaudo serve` runs it) applies "
                "payment.applied on the embedded default (durable settings), its accounts seeded directly: "
                "segmentation keeps each payment's outcome and fact, the ledger's balance and status, and assesses "
                "the account again (account.segmented); outreach keeps the status and the last payment, moves the "
                "account's four attempts to come past one spacing (or cancels them when the payment pays it off), "
                "with the trail's word. Measured three ways in the same run: one payment at a time (each payment its "
                "own run of the batch handler, as the consumer's fallback applies a failed batch: its statements "
                "for each payment), then a fetched batch at once (the run's payments in a few statements, as it "
                "runs), each warmed and measured on accounts of its own, then the floor: the same batches decoded "
                "and claimed in the consumer's inbox in one transaction, with nothing applied.",
        "machine": machine(),
        "figures": figures,
        "notes": "No target is set for these consumers; #24 asks for set-based writes everywhere. Each of the two "
                 "reads every payment, so at 1,000 payments a second (docs/scaling.md) their CPU per payment, here "
                 "and in PostgreSQL, sizes the payment topic's readers: "
                 + "; ".join(f"{name} {1000 * here:.2f} cores and {1000 * pg:.2f} of PostgreSQL's at once, "
                             f"{1000 * here_1:.2f} and {1000 * pg_1:.2f} one at a time"
                             for name, (here, pg, here_1, pg_1) in per_payment.items())
                 + ". One at a time is the batch handler given one event, the fallback's way (before #24's batch "
                 "handlers each payment took its own statements, several per payment, as this does). The benchmark "
                 "process runs the consumer (its CPU is the service's); PostgreSQL's is its postmaster's and "
                 "backends', autovacuum's and the checkpointer's included. The floor's PostgreSQL CPU is one inbox "
                 "row per payment.",
    })
    print("\n".join(f"{k}: {v}" for k, v in figures.items()))


if __name__ == "__main__":
    asyncio.run(main())
