"""Ingest benchmark: a generated portfolio CSV through the HTTP API on the embedded default (embedded
PostgreSQL, postgres transport), from the first byte sent to `completed`, beside PostgreSQL COPY of the same
file into a table of the same columns (the floor)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

from bench.common import ROOT, copy_again, fresh_database, machine, save, target_sentence, wait_ready
from recaudo_common import embedded_pg
from recaudo_common.db import asyncpg_dsn
from recaudo_common.local_ports import free_port

KEY = "rk_bench_operator_" + uuid.uuid4().hex
INGEST_TARGET = "≤ 10x COPY (this issue's criterion, #24), ≤ 3x in the long term; under 1 GiB of memory"
HEADER = "Número Obligación;Cédula;Nombre Completo;Celular;Correo;Ciudad;Producto;Saldo Total;Fecha Vencimiento"


def generate(path: Path, rows: int) -> None:
    rnd = random.Random(42)
    today = dt.date(2026, 3, 31)
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER + "\n")
        for i in range(rows):
            balance = f"{rnd.randint(50_000, 9_000_000):,}".replace(",", ".") + f",{rnd.randint(0, 99):02d}"
            due = today - dt.timedelta(days=rnd.randint(-10, 720))
            out.write(f"B-{i};{10_000_000 + i};Deudor {i} Pérez;3{rnd.choice(['00', '10', '15', '20'])}"
                      f"{rnd.randint(1000000, 9999999)};d{i}@correo.example;Bogotá;libranza;{balance};"
                      f"{due:%d/%m/%Y}\n")


async def through_api(base_url: str, path: Path) -> tuple[float, dict[str, object]]:
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {KEY}"},
                                 timeout=httpx.Timeout(3600, connect=10)) as http:
        await http.post("/v1/clients", json={"slug": "bench", "name": "Bench", "country": "CO", "currency": "COP",
                                             "timezone": "America/Bogota", "locale": "es-CO"})
        started = time.perf_counter()
        with path.open("rb") as handle:
            response = await http.post("/v1/clients/bench/portfolios", files={"file": ("cartera.csv", handle)},
                                       data={"as_of": "2026-03-31"})
        response.raise_for_status()
        portfolio = response.json()
        while portfolio["status"] in ("queued", "processing"):
            await asyncio.sleep(0.25)
            portfolio = (await http.get(f"/v1/portfolios/{portfolio['id']}")).json()
        return time.perf_counter() - started, portfolio


def peak_rss_mib(pid: int) -> float:
    """The most memory a process has held (VmHWM), in MiB (0 once it has ended)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> tuple[float, float]:
    """The CPU a process has used, and the CPU of its children that have ended (ingest's checking processes)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick


def children_of(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


async def children_peak_mib(pid: int, stop: asyncio.Event) -> float:
    """The most memory any child of `pid` held (ingest's checking process of a large upload), sampled until
    `stop`: a child's peak is gone with it, so it is read while it runs."""
    peak = 0.0
    while not stop.is_set():
        peak = max([peak, *(peak_rss_mib(child) for child in children_of(pid))])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)
    return peak


async def copy_floor(dsn: str, path: Path) -> float:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("""CREATE TABLE IF NOT EXISTS bench_copy_floor (account_ref text, debtor_id text,
            full_name text, phone text, email text, city text, product text, balance text, due_date text)""")
        await conn.execute("TRUNCATE bench_copy_floor")
        started = time.perf_counter()
        with path.open("rb") as handle:
            await conn.copy_to_table("bench_copy_floor", source=handle, format="csv", header=True, delimiter=";")
        return time.perf_counter() - started
    finally:
        await conn.close()


# What ingest must write for each upload, in this design: the accounts, the people and their lookups in the vault
# (#19), the events in the outbox and, relayed, in the log. Each copied by binary COPY into a table LIKE the real
# one (its indexes and constraints included), the rows read back from the real ones after the run.
WRITTEN = (("ingest.accounts", "SELECT * FROM ingest.accounts"),
           ("vault.people", "SELECT * FROM vault.people"),
           ("vault.lookups", "SELECT * FROM vault.lookups"),
           ("ingest.outbox", "SELECT position, split_part(topic, '.', 2), key, event_id, envelope, headers, appended_at "
                             "FROM bus.log"),
           ("bus.log", "SELECT * FROM bus.log"))


async def writes_floor(dsn: str, work: Path) -> tuple[float, dict[str, tuple[int, float]]]:
    """The design's floor: the rows this upload wrote, written again by binary COPY with no Python between."""
    return await copy_again(dsn, WRITTEN, work)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default=os.environ.get("BENCH_ROWS", "300000,1000000"),
                        help="the sizes to run, comma-separated: each its own upload, floors and result")
    args = parser.parse_args()
    for rows in (int(size) for size in str(args.rows).split(",")):
        await one_size(rows)


async def one_size(rows: int) -> None:
    work = ROOT / ".local" / "bench"
    work.mkdir(parents=True, exist_ok=True)
    csv_path = work / f"portfolio-{rows}.csv"
    if not csv_path.exists():
        generate(csv_path, rows)
    url, data = fresh_database("ingest")
    port = free_port()
    env = {**os.environ, "RECAUDO_DATABASE_URL": url, "RECAUDO_TRANSPORT": "postgres",
           "RECAUDO_BOOTSTRAP_OPERATOR_KEY": KEY, "RECAUDO_LOG_LEVEL": "WARNING",
           "RECAUDO_TOPIC_PREFIX": "bench"}
    process = subprocess.Popen([sys.executable, "-m", "recaudo.cli", "serve", "ingest", "--port", str(port)], env=env)
    try:
        wait_ready(f"http://127.0.0.1:{port}", process)
        uploaded = asyncio.Event()
        children = asyncio.create_task(children_peak_mib(process.pid, uploaded))
        cpu_before = cpu_seconds(process.pid)
        try:
            api_seconds, portfolio = await through_api(f"http://127.0.0.1:{port}", csv_path)
        finally:
            uploaded.set()
            checking_rss = await children
        service_cpu, checking_cpu = (after - before for after, before in zip(cpu_seconds(process.pid), cpu_before,
                                                                             strict=True))
        service_rss = peak_rss_mib(process.pid)
        peak_rss = service_rss + checking_rss
        floor_seconds = await copy_floor(asyncpg_dsn(url), csv_path)
        process.terminate()
        process.wait(30)
        writes_seconds, written = await writes_floor(asyncpg_dsn(url), work)
    finally:
        process.terminate()
        process.wait(30)
        embedded_pg.stop(data)
    ratio = api_seconds / floor_seconds
    met = ratio <= 10 and peak_rss < 1024
    save(f"ingest-{rows}", {
        "title": f"Ingest: {rows:,}-row CSV through the API vs PostgreSQL COPY",
        "what": "A semicolon CSV with Spanish headers and es-CO numbers, uploaded to `POST /v1/clients/{slug}/"
                "portfolios` of `recaudo serve ingest` on the embedded default (durable settings), timed from the "
                "first byte sent until the upload reads `completed`: storage in chunks, parsing, validation, phone "
                "normalisation, the vault's people and lookups, accounts upserted, account.placed events in the "
                "outbox and relayed to the log. The floor is `COPY` of the same file into a table of the same "
                "columns, as text, with no index, on the same server. A second floor, the design's writes, is the "
                "rows the upload wrote (accounts, the vault's people and lookups, outbox rows, log records) written "
                "again by binary `COPY` into tables `LIKE` the real ones, indexes included, with no Python between.",
        "machine": machine(),
        "figures": {
            "rows": f"{rows:,}", "accepted / rejected": f"{portfolio['rows_accepted']:,} / {portfolio['rows_rejected']:,}",
            "through the API (s)": f"{api_seconds:.1f}", "rows per second": f"{rows / api_seconds:,.0f}",
            "COPY floor (s)": f"{floor_seconds:.2f}", "ratio to COPY": f"{ratio:.1f}x",
            "the design's writes by binary COPY (s)": f"{writes_seconds:.2f} ("
            + ", ".join(f"{t} {n:,} rows in {took:.2f} s" for t, (n, took) in written.items()) + ")",
            "the design's writes / COPY": f"{writes_seconds / floor_seconds:.1f}x",
            "ratio to the design's writes": f"{api_seconds / writes_seconds:.1f}x",
            "ingest's peak memory (RSS)": f"{peak_rss:,.0f} MiB (the service {service_rss:,.0f}, the upload's "
                                          f"checking process {checking_rss:,.0f})",
            "ingest's CPU per row (µs): the service / the upload's checking process": (
                f"{1e6 * service_cpu / rows:,.0f} / {1e6 * checking_cpu / rows:,.0f}"),
            "target": INGEST_TARGET,
        },
        "notes": f"{target_sentence(INGEST_TARGET, met)} ({api_seconds:.1f} s, {ratio:.1f}x COPY, peak "
                 f"{peak_rss:,.0f} MiB). The rows this design writes for an upload, written again by binary COPY with "
                 f"no parsing, rule, crypto or Python at all, take {writes_seconds / floor_seconds:.1f}x COPY of the "
                 "file: the floor of the design on this machine, so no faster code brings the whole under 10x "
                 "while those writes are what they are (each account with its stated JSON and search indexes, a "
                 "person with a wrapped key and about three blind-index lookups in the vault per debtor for "
                 "crypto-shredding, #19, and each event twice: the outbox row, then the log record the relay "
                 f"copies it to). Ingest runs at {api_seconds / writes_seconds:.1f}x its own writes: the rest is the "
                 "Python of each row (the row rules, the vault's digests and sealing, the event JSON) and the round "
                 "trips of each 1,000-row batch. The file is read and its rows checked in a process of its own "
                 "beside the service's (row_checking); the service's CPU per row is what bounds one ingest replica "
                 "when PostgreSQL has a machine of its own (docs/scaling.md). Here PostgreSQL shares the two cores.",
    })
    print(f"ingest: {rows:,} rows in {api_seconds:.1f}s through the API; COPY {floor_seconds:.1f}s "
          f"({api_seconds / floor_seconds:.1f}x)")


if __name__ == "__main__":
    asyncio.run(main())
