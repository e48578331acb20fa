"""Personal-data benchmark (#19): what crypto-shredding costs where it is paid on every account. A person found or
created for each id number of a portfolio (`Vault.people_for`, batches of 1,000, as ingest does), each
account's data sealed, and the batch opened again as a consumer does (`personal_of_many`); beside their floors in
the same run: one plain batched INSERT of the same number of (uuid, bytes) rows, and a JSON round trip of the same
values with no encryption."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import time
import uuid
from decimal import Decimal

import asyncpg

from bench.common import fresh_database, machine, migrate_schemas, save, target_sentence
from recaudo_common import embedded_pg
from recaudo_common.db import Database, asyncpg_dsn, make_engine
from recaudo_common.events import AccountPlaced
from recaudo_common.personal_data import MasterKeyring, PersonalData, Vault, personal_of_many, seal

NOW = dt.datetime(2026, 4, 1, 15, 0, tzinfo=dt.UTC)
BATCH = 1000
CLIENT = "bench"


def person(i: int) -> PersonalData:
    return PersonalData(full_name=f"Persona Número {i}", id_number=f"{1_000_000_000 + i}", id_type="CC",
                        phones=(f"+57300{i:07d}",), email=f"persona{i}@correo.co", address=f"Calle {i % 200} # 10-20")


def placed(i: int, debtor_ref: uuid.UUID, sealed: str) -> AccountPlaced:
    return AccountPlaced(account_ref=f"A-{i}", portfolio_id=uuid.UUID(int=1), debtor_ref=debtor_ref, personal=sealed,
                         has_phone=True, has_email=True, balance=Decimal("100000.00"), currency="COP",
                         days_past_due=40, as_of=NOW.date(), authorised_channels=["sms"])


async def insert_floor(url: str, rows: int) -> float:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute("CREATE TABLE public.floor_people (debtor_ref uuid PRIMARY KEY, client_slug text NOT NULL,"
                           " wrapped_key bytea NOT NULL, digest bytea NOT NULL UNIQUE)")
        started = time.perf_counter()
        for first in range(0, rows, BATCH):
            n = min(BATCH, rows - first)
            await conn.execute(
                "INSERT INTO public.floor_people SELECT * FROM unnest($1::uuid[], $2::text[], $3::bytea[],"
                " $4::bytea[])",
                [uuid.uuid4() for _ in range(n)], [CLIENT] * n, [os.urandom(40) for _ in range(n)],
                [os.urandom(32) for _ in range(n)])
        return time.perf_counter() - started
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=min(int(os.environ.get("BENCH_ROWS", "1000000")), 200_000))
    args = parser.parse_args()
    rows = args.rows
    url, data = fresh_database("personal")
    try:
        await migrate_schemas(url, ())
        db = Database(make_engine(url, pool_size=2))
        vault = Vault(MasterKeyring(os.urandom(32)))
        data_of = [person(i) for i in range(rows)]
        started = time.perf_counter()
        events: list[AccountPlaced] = []
        for first in range(0, rows, BATCH):
            chunk = data_of[first:first + BATCH]
            async with db.transaction() as s:
                people = await vault.people_for(s, CLIENT, [p.id_number for p in chunk], NOW)
            events += [placed(first + k, people[p.id_number].debtor_ref,
                              seal(people[p.id_number].key, CLIENT, people[p.id_number].debtor_ref, p))
                       for k, p in enumerate(chunk)]
        sealing_s = time.perf_counter() - started
        fresh = Vault(vault.keyring)  # a consumer's process: no key cached
        started = time.perf_counter()
        opened = 0
        for first in range(0, rows, BATCH):
            async with db.transaction() as s:
                opened += sum(1 for p in await personal_of_many(fresh, s, CLIENT, events[first:first + BATCH]) if p)
        opening_s = time.perf_counter() - started
        await db.dispose()
        started = time.perf_counter()
        for p in data_of:
            PersonalData.model_validate_json(p.model_dump_json())
        json_floor_s = time.perf_counter() - started
        insert_floor_s = await insert_floor(url, rows)
    finally:
        embedded_pg.stop(data)
    assert opened == rows
    sealing_rate, opening_rate = rows / sealing_s, rows / opening_s
    met = sealing_s <= 3 * (insert_floor_s + json_floor_s) and opening_s <= 3 * (insert_floor_s + json_floor_s)
    save("personal_data", {
        "title": f"Pseudonyms and sealing for {rows:,} people vs a plain INSERT and a JSON round trip",
        "what": "On the embedded default (durable settings), in batches of 1,000 as ingest works: `Vault.people_for` "
                "(one read of the blind-index lookups, one insert of the new people with their wrapped keys and "
                "lookups) and AES-256-GCM sealing of each person's data into an account.placed v2; then, with a "
                "fresh vault (no cached key), `personal_of_many` opens each batch as a consumer does (one key read "
                "and unwrap per person). Floors in the same run: one batched INSERT of the same number of "
                "(uuid, text, bytea, bytea) rows with a unique index, and a JSON dump and parse of the same values.",
        "machine": machine(),
        "figures": {"people": f"{rows:,}", "find or create + seal (s)": f"{sealing_s:.1f}",
                    "people sealed per second": f"{sealing_rate:,.0f}", "open (s)": f"{opening_s:.1f}",
                    "people opened per second": f"{opening_rate:,.0f}",
                    "batched INSERT floor (s)": f"{insert_floor_s:.1f}", "JSON round-trip floor (s)": f"{json_floor_s:.1f}",
                    "ratio to the floors (seal, open)":
                        f"{sealing_s / (insert_floor_s + json_floor_s):.1f}x, "
                        f"{opening_s / (insert_floor_s + json_floor_s):.1f}x",
                    "target": "each ≤ 3x the floors together"},
        "notes": f"{target_sentence('each ≤ 3x the floors together', met)} (sealing "
                 f"{sealing_s / (insert_floor_s + json_floor_s):.1f}x, opening "
                 f"{opening_s / (insert_floor_s + json_floor_s):.1f}x). Sealing runs in the uploading process "
                 "(ingest) and opening in each consumer that needs the person (outreach, the access request); "
                 "payments and segmentation open nothing. Per person the vault adds one wrapped key and up to three "
                 "lookups (id number, phone, e-mail) to the database.",
    })
    print(f"personal data: {rows:,} people, sealed {sealing_rate:,.0f}/s, opened {opening_rate:,.0f}/s; "
          f"floors insert {insert_floor_s:.1f}s json {json_floor_s:.1f}s")


if __name__ == "__main__":
    asyncio.run(main())
