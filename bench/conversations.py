"""Conversations benchmark (#20), each figure beside a floor measured in the same run: WhatsApp Cloud API webhooks
(Meta's signed statuses and debtors' text replies) through `recaudo serve outreach --role api`; best time's
relearning over a campaign's history of messages sent and their outcomes; and planning with the learned windows
beside planning with best time off (the first allowed slot)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import hmac
import json
import os
import time
import urllib.parse
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import text

from bench.common import CpuMeter, fresh_database, load, machine, migrate_schemas, save, serve
from bench.reporting import ready
from bench.webhooks import pct
from outreach.best_time import store as best_time
from outreach.best_time.handlers import relearn
from outreach.domain.whatsapp import hub_signature
from outreach.planning.handlers import plan_ready
from outreach.settings import OutreachSettings
from recaudo_common import embedded_pg
from recaudo_common.db import Database, asyncpg_dsn, make_engine
from recaudo_common.local_ports import free_port

CLIENT = "bench"
NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)  # Wednesday 10:00 in Bogotá: relearning and planning's now
SEGMENTS = 8  # segment j's debtors answer best at 8 + j h in Bogotá
CHANNELS = ("sms", "whatsapp", "email", "voice")
PROVIDER_OF = {"sms": "twilio", "whatsapp": "whatsapp_cloud", "email": "smtp", "voice": "twilio"}
PHONE_NUMBER_ID = "106540352242922"
APP_SECRET = "bench-meta-app-secret-0123456789abcdef"
OPERATOR_KEY = "rk_bench_conversations_operator_key_01"
PLAN_BATCH = 500  # accounts a planning transaction takes, as the consumer's batches give them
REPLIES = ("¿Puedo pagar el viernes?", "Pagar ahora")  # to the agent desk; answered with the payment link


def _sql_list(values: tuple[str, ...]) -> str:
    return "ARRAY[" + ", ".join(f"'{v}'" for v in values) + "]"


async def plant_campaign(conn: asyncpg.Connection, messages: int, accounts: int) -> None:
    """A client company in Colombia, its accounts (a phone each) in SEGMENTS segments, and `messages` messages
    sent over the 90 days before NOW on four channels at 07-18h in Bogotá, with their outcomes: four in ten of a
    segment's messages at its good hour answered and one in twenty at the others (one answer in 97 a BAJA, not a
    good outcome), one in fifty followed by a promise on the debtor page, one account in 25 paid off; three trail
    entries a message (scheduled, sent, delivered), as sending writes them. All set-based, like the tests'
    plant_history."""
    channels, providers = _sql_list(CHANNELS), _sql_list(tuple(PROVIDER_OF[c] for c in CHANNELS))
    await conn.execute(
        "INSERT INTO outreach.clients (slug, name, country, currency, timezone, locale, default_authorised_channels,"
        " updated_at) VALUES ($1, 'Banco Bench', 'CO', 'COP', 'America/Bogota', 'es-CO', $2, now())",
        CLIENT, list(CHANNELS))
    await conn.execute(f"""INSERT INTO outreach.accounts (client_slug, account_ref, debtor_id, full_name, phones, email,
            balance, currency, authorised_channels, updated_at)
        SELECT '{CLIENT}', 'A-' || a, 'D-' || a, 'ANA GÓMEZ', ARRAY['+57300' || lpad(a::text, 7, '0')],
               'deudor' || a || '@correo.co', 100000 + a, 'COP', {channels}, now()
        FROM generate_series(0, {accounts - 1}) AS a""")
    await conn.execute(f"""INSERT INTO outreach.treatments (client_slug, account_ref, plan_id, segment, treatment,
            channels, cadence_days, offer, expected_net_recovery, propensity, days_past_due, strategy_arm,
            decided_at, planned)
        SELECT '{CLIENT}', 'A-' || a, gen_random_uuid(), 'S' || (a % {SEGMENTS}), 'digital', {channels}, 3, 'none',
               1000, 0.3, 45, 'champion', now(), true
        FROM generate_series(0, {accounts - 1}) AS a""")
    # Message i: account i % accounts (its segment i % 8 when accounts is a multiple of 8), an hour of 07-18h in
    # Bogotá (UTC-5, no daylight saving time) and a channel that cycle independently of the segment, a day of the
    # lookback; answered (status replied) as the docstring says, drawn by a hash of i (i's residues would tie
    # outcomes to segments).
    await conn.execute(f"""INSERT INTO outreach.attempts (id, client_slug, account_ref, plan_id, channel, sequence,
            status, scheduled_at, created_at, sent_at, delivered_at, provider, provider_message_id)
        SELECT gen_random_uuid(), '{CLIENT}', 'A-' || k.a, gen_random_uuid(), ({channels})[1 + k.c], 1,
               CASE WHEN answered THEN 'replied' ELSE 'delivered' END, at, at, at, at + interval '1 minute',
               ({providers})[1 + k.c], 'H-' || i
        FROM generate_series(0, {messages - 1}::bigint) AS i,
             LATERAL (SELECT i % {accounts} AS a, 7 + (i / {SEGMENTS}) % 12 AS local_hour,
                             (i / ({SEGMENTS} * 12)) % 4 AS c, abs(hashint8(i)) % 1000 AS draw) k,
             LATERAL (SELECT TIMESTAMPTZ '{NOW.date().isoformat()} 00:00+00' - (1 + (i * 7919) % 89) * interval '1 day'
                             + (k.local_hour + 5) * interval '1 hour' + (i % 50) * interval '1 minute' AS at,
                             CASE WHEN k.local_hour = 8 + k.a % {SEGMENTS} THEN k.draw < 400
                                  ELSE k.draw < 50 END AS answered) o""")
    await conn.execute("""INSERT INTO outreach.replies (id, provider, provider_message_id, attempt_id, channel, body,
            opt_out, received_at)
        SELECT gen_random_uuid(), provider, 'R-' || provider_message_id, id, channel, 'Gracias, pago el viernes',
               abs(hashint8(substr(provider_message_id, 3)::bigint + 1000003)) % 97 = 0, sent_at + interval '20 minutes'
        FROM outreach.attempts WHERE status = 'replied'""")
    await conn.execute("""INSERT INTO outreach.trail (client_slug, account_ref, at, kind, attempt_id, channel)
        SELECT client_slug, account_ref, sent_at + step * interval '1 minute',
               (ARRAY['scheduled', 'sent', 'delivered'])[step + 1], id, channel
        FROM outreach.attempts, generate_series(0, 2) AS step""")
    await conn.execute("""INSERT INTO outreach.trail (client_slug, account_ref, at, kind)
        SELECT client_slug, account_ref, sent_at + interval '30 minutes', 'page_promise' FROM outreach.attempts
        WHERE abs(hashint8(substr(provider_message_id, 3)::bigint + 2000003)) % 50 = 0""")
    await conn.execute(f"""INSERT INTO outreach.account_status (client_slug, account_ref, status, balance, as_of)
        SELECT '{CLIENT}', 'A-' || a, 'paid', 0, TIMESTAMPTZ '{NOW.isoformat()}' - interval '2 days'
        FROM generate_series(0, {accounts - 1}, 25) AS a""")
    await conn.execute("VACUUM ANALYZE")


async def relearn_floor(conn: asyncpg.Connection, settings: OutreachSettings) -> tuple[float, int]:
    """One GROUP BY (client, segment, channel, local weekday, hour) over the same messages, counting those
    answered (not a BAJA): the least a learner reads. Seconds, and the groups."""
    started = time.perf_counter()
    rows = await conn.fetch(
        """SELECT a.client_slug, t.segment, a.channel, extract(isodow FROM a.sent_at AT TIME ZONE c.timezone) AS dow,
                  extract(hour FROM a.sent_at AT TIME ZONE c.timezone) AS hour, count(*) AS sent,
                  count(r.attempt_id) AS good
           FROM outreach.attempts a
           JOIN outreach.treatments t ON t.client_slug = a.client_slug AND t.account_ref = a.account_ref
           JOIN outreach.clients c ON c.slug = a.client_slug
           LEFT JOIN (SELECT DISTINCT attempt_id FROM outreach.replies WHERE NOT opt_out) r ON r.attempt_id = a.id
           WHERE a.sent_at >= $1 AND a.sent_at < $2 AND a.channel <> 'agent'
           GROUP BY 1, 2, 3, 4, 5""",
        NOW - dt.timedelta(days=settings.best_time_lookback_days), NOW)
    return time.perf_counter() - started, len(rows)


async def bench_relearning(url: str, messages: int) -> dict[str, str]:
    settings = OutreachSettings(database_url=url)
    db = Database(make_engine(url, pool_size=2))
    try:
        started = time.perf_counter()
        windows = await relearn(db, settings, now=NOW)
        seconds = time.perf_counter() - started
        async with db.transaction() as s:
            learned = await best_time.windows_of(s, CLIENT)
    finally:
        await db.dispose()
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        floor_s, groups = await relearn_floor(conn, settings)
    finally:
        await conn.close()
    # The planted good hour of each segment, recovered as its best slot on every channel.
    best: dict[tuple[str, str], tuple[float, int]] = {}
    for w, _ in learned:
        key = (w.segment, w.channel)
        if key not in best or w.rate > best[key][0]:
            best[key] = (w.rate, w.hour)
    recovered = sum(1 for (segment, _), (_, hour) in best.items() if hour == 8 + int(segment[1:]))
    return {"seconds, its GROUP BY floor": f"{seconds:.1f}, {floor_s:.1f} ({seconds / floor_s:.1f}x)",
            "messages sent over the 90-day lookback": f"{messages:,}", "windows learned": f"{windows:,}",
            "planted good hour recovered (segment × channel)": f"{recovered} of {len(best)}",
            "messages per second": f"{messages / seconds:,.0f}", "GROUP BY floor: groups": f"{groups:,}"}


# ------------------------------------------------------------------ WhatsApp webhooks


def notification(*, statuses: list[dict[str, Any]] | None = None,
                 messages: list[dict[str, Any]] | None = None) -> bytes:
    """Meta's messages webhook as outreach.domain.whatsapp reads it (compact JSON, non-ASCII escaped), as documented
    at https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/status
    and .../messages/text (a reply's `context` names the message it answers)."""
    value: dict[str, Any] = {"messaging_product": "whatsapp",
                             "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID}}
    if messages is not None:
        value["contacts"] = [{"profile": {"name": "María"}, "wa_id": messages[0]["from"]}]
        value["messages"] = messages
    if statuses is not None:
        value["statuses"] = statuses
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [
        {"value": value, "field": "messages"}]}]}, separators=(",", ":")).encode()


def wa_number(account: int) -> str:
    return f"57300{account:07d}"


def webhook_load(conversations: int, accounts: int, reply_every: int) -> tuple[list[bytes], int]:
    """Meta's notifications for `conversations` messages the platform sent: each one's `delivered`, then each
    one's `read` interleaved with the debtors' text replies (one message in `reply_every`), as they come in
    time. The bodies, and how many carry a reply."""
    def status(i: int, meta_status: str) -> bytes:
        # webhooks/reference/messages/status: a delivery carries its conversation and pricing, a read does not.
        found: dict[str, Any] = {"id": f"wamid.BENCH{i}", "status": meta_status, "timestamp": "1750857384",
                                 "recipient_id": wa_number(i % accounts)}
        if meta_status == "delivered":
            found |= {"conversation": {"id": f"conv{i}", "origin": {"type": "utility"}},
                      "pricing": {"billable": True, "pricing_model": "PMP", "category": "utility"}}
        return notification(statuses=[found])

    bodies = [status(i, "delivered") for i in range(conversations)]
    replies = 0
    for i in range(conversations):
        bodies.append(status(i, "read"))
        if i % reply_every == 0:
            replies += 1
            bodies.append(notification(messages=[{
                "from": wa_number(i % accounts), "id": f"wamid.IN{i}", "timestamp": "1750857400", "type": "text",
                "text": {"body": REPLIES[(i // reply_every) % len(REPLIES)]},
                "context": {"from": "15550783881", "id": f"wamid.BENCH{i}"}}]))
    return bodies, replies


async def post_all(url: str, bodies: list[bytes], concurrency: int) -> tuple[float, list[float], list[Any]]:
    """Each body signed as Meta signs it (X-Hub-Signature-256, computed before the clock starts: Meta's work),
    posted at `concurrency`; seconds, latencies and the answers' JSON."""
    signed = [(b, hub_signature(APP_SECRET, b)) for b in bodies]
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    answers: list[Any] = []
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=concurrency)) as http:
        async def one(body: bytes, signature: str) -> None:
            async with gate:
                started = time.perf_counter()
                response = await http.post(url, content=body, headers={
                    "X-Hub-Signature-256": signature, "Content-Type": "application/json"})
                response.raise_for_status()
                latencies.append(time.perf_counter() - started)
                answers.append(response.json())

        started = time.perf_counter()
        await asyncio.gather(*(one(b, s) for b, s in signed))
        return time.perf_counter() - started, latencies, answers


async def plant_sent(conn: asyncpg.Connection, conversations: int, accounts: int) -> None:
    """The WhatsApp messages whose statuses and answers the webhooks bring: sent an hour ago, no receipt yet."""
    await conn.execute(f"""INSERT INTO outreach.attempts (id, client_slug, account_ref, plan_id, channel, sequence,
            status, scheduled_at, created_at, sent_at, provider, provider_message_id)
        SELECT gen_random_uuid(), '{CLIENT}', 'A-' || (i % {accounts}), gen_random_uuid(), 'whatsapp', 1, 'sent',
               now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour', 'whatsapp_cloud',
               'wamid.BENCH' || i
        FROM generate_series(0, {conversations - 1}) AS i""")
    await conn.execute("ANALYZE outreach.attempts")


async def webhook_floor(conn: asyncpg.Connection, bodies: list[bytes]) -> tuple[float, float]:
    """What the handler cannot avoid, in this process: each body's HMAC-SHA256 verified and its JSON parsed, then
    one set-based UPDATE of the same attempts (delivered, or replied for those answered). Seconds of each."""
    signatures = [hub_signature(APP_SECRET, b).encode() for b in bodies]
    started = time.perf_counter()
    settled: dict[str, str] = {}
    for body, signature in zip(bodies, signatures, strict=True):
        digest = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(digest.encode(), signature)
        value = json.loads(body)["entry"][0]["changes"][0]["value"]
        for s in value.get("statuses", ()):
            settled.setdefault(s["id"], "delivered")
        for m in value.get("messages", ()):
            settled[m["context"]["id"]] = "replied"
    parse_s = time.perf_counter() - started
    started = time.perf_counter()
    updated = await conn.execute(
        """UPDATE outreach.attempts a SET status = u.status, delivered_at = coalesce(a.delivered_at, now())
           FROM unnest($1::text[], $2::text[]) AS u(message_id, status)
           WHERE a.provider = 'whatsapp_cloud' AND a.provider_message_id = u.message_id""",
        list(settled), list(settled.values()))
    assert updated == f"UPDATE {len(settled)}", updated
    return parse_s, time.perf_counter() - started


def postmaster(data: Path) -> int:
    """The benchmark's PostgreSQL server process (its backends are its children)."""
    return int((data / "pgdata" / "postmaster.pid").read_text().split()[0])


async def bench_webhooks(url: str, data: Path, conversations: int, accounts: int, concurrency: int
                         ) -> dict[str, str]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    process = None
    try:
        await plant_sent(conn, conversations, accounts)
        port = free_port()
        env = {**os.environ, "RECAUDO_DATABASE_URL": url, "RECAUDO_LOG_LEVEL": "WARNING",
               "RECAUDO_BOOTSTRAP_OPERATOR_KEY": OPERATOR_KEY, "RECAUDO_PUBLIC_URL": f"http://127.0.0.1:{port}"}
        process = serve("outreach", port, env, "api")
        base = f"http://127.0.0.1:{port}"
        await ready(base)
        async with httpx.AsyncClient() as http:
            answer = await http.put(f"{base}/v1/clients/{CLIENT}/channels/whatsapp",
                                    headers={"Authorization": f"Bearer {OPERATOR_KEY}"}, json={
                                        "kind": "whatsapp_cloud", "phone_number_id": PHONE_NUMBER_ID,
                                        "access_token": "EAAGbench-access-token", "app_secret": APP_SECRET,
                                        "verify_token": "bench-verify-token"})
            answer.raise_for_status()
        webhook = base + urllib.parse.urlsplit(answer.json()["webhook_url"]).path
        bodies, replies = webhook_load(conversations, accounts, reply_every=10)
        await load(f"{base}/healthz", bodies[:200], concurrency)  # warm-up
        healthz_n = min(len(bodies), 5000)
        healthz_s, _ = await load(f"{base}/healthz", bodies[:healthz_n], concurrency)
        server = process
        meter = CpuMeter({"outreach API": lambda: server.pid, "PostgreSQL": lambda: postmaster(data)},
                         with_children=frozenset({"PostgreSQL"}))
        before = meter.read()
        seconds, latencies, answers = await post_all(webhook, bodies, concurrency)
        cpu = CpuMeter.split(before, meter.read())
        applied = sum(a["statuses"]["applied"] for a in answers)
        duplicates = sum(a["statuses"]["duplicate"] for a in answers)
        recorded = sum(a["messages"]["recorded"] for a in answers)
        assert applied == conversations and recorded == replies, (applied, recorded)
        moved = await conn.fetchval("SELECT count(*) FROM outreach.attempts WHERE provider_message_id LIKE "
                                    "'wamid.BENCH%' AND status IN ('delivered', 'replied')")
        assert moved == conversations, moved
        # The floor settles the same rows again from where the load found them.
        await conn.execute("UPDATE outreach.attempts SET status = 'sent', delivered_at = NULL "
                           "WHERE provider_message_id LIKE 'wamid.BENCH%'")
        parse_s, update_s = await webhook_floor(conn, bodies)
    finally:
        if process is not None:
            process.terminate()
            process.wait(30)
        await conn.close()
    n = len(bodies)
    floor_s = parse_s + update_s
    return {"notifications per second, its floor": f"{n / seconds:,.0f}, {n / floor_s:,.0f} ({seconds / floor_s:.0f}x)",
            "notifications": f"{n:,} ({conversations:,} delivered, {conversations:,} read, {replies:,} text replies) "
                             f"at concurrency {concurrency}",
            "statuses applied per second": f"{applied / seconds:,.0f}",
            "p50 / p99 (ms)": f"{pct(latencies, 50):.1f} / {pct(latencies, 99):.1f}",
            "applied / duplicate (read after delivered) / replies recorded": f"{applied:,} / {duplicates:,} / {recorded:,}",
            "floor: HMAC + JSON parse (s)": f"{parse_s:.2f}", "floor: one set-based UPDATE (s)": f"{update_s:.2f}",
            "HTTP floor: /healthz per second, same server and client": f"{healthz_n / healthz_s:,.0f}",
            "outreach API CPU per notification (ms)": f"{cpu['per_process_s']['outreach API'] / n * 1000:.1f}",
            "CPU seconds during the load": ", ".join(f"{k} {v}" for k, v in cpu["per_process_s"].items())
            + f" (machine {cpu['machine_busy_share']:.0%} busy)"}


# ------------------------------------------------------------------ planning with best time


async def plant_to_plan(conn: asyncpg.Connection, prefix: str, accounts: int) -> None:
    """Accounts just placed and segmented (in the learned segments, SMS and WhatsApp every 3 days), not planned."""
    await conn.execute(f"""INSERT INTO outreach.accounts (client_slug, account_ref, debtor_id, full_name, phones, email,
            balance, currency, authorised_channels, updated_at)
        SELECT '{CLIENT}', '{prefix}-' || a, '{prefix}D-' || a, 'LUIS PÉREZ',
               ARRAY['+57310' || lpad(a::text, 7, '0')], NULL, 100000, 'COP', ARRAY['sms', 'whatsapp'], now()
        FROM generate_series(0, {accounts - 1}) AS a""")
    await conn.execute(f"""INSERT INTO outreach.treatments (client_slug, account_ref, plan_id, segment, treatment,
            channels, cadence_days, offer, expected_net_recovery, propensity, days_past_due, strategy_arm,
            decided_at, planned)
        SELECT '{CLIENT}', '{prefix}-' || a, gen_random_uuid(), 'S' || (a % {SEGMENTS}), 'digital',
               ARRAY['sms', 'whatsapp'], 3, 'none', 1000, 0.3, 45, 'champion', now(), false
        FROM generate_series(0, {accounts - 1}) AS a""")


async def plan_all(db: Database, prefix: str, accounts: int) -> tuple[float, int, int]:
    """plan_ready over every account, PLAN_BATCH a transaction; seconds, attempts, those in a learned slot."""
    keys = [(CLIENT, f"{prefix}-{a}") for a in range(accounts)]
    started = time.perf_counter()
    for first in range(0, accounts, PLAN_BATCH):
        async with db.transaction() as s:
            await plan_ready(s, keys[first:first + PLAN_BATCH], NOW)
    seconds = time.perf_counter() - started
    async with db.transaction() as s:
        row = (await s.execute(text(
            "SELECT count(*) AS n, count(*) FILTER (WHERE why LIKE 'best_time:%') AS best FROM outreach.attempts "
            "WHERE account_ref LIKE :p"), {"p": f"{prefix}-%"})).one()
    return seconds, int(row.n), int(row.best)


async def bench_planning(url: str, accounts: int) -> dict[str, str]:
    """The same accounts twice over (the trail is append-only, so each run plans its own copy): best time off
    for the client company first, then on."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        for prefix in ("OFF", "ON"):
            await plant_to_plan(conn, prefix, accounts)
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    db = Database(make_engine(url, pool_size=2))
    try:
        async with db.transaction() as s:
            await best_time.set_enabled(s, CLIENT, False, NOW)
        off_s, off_attempts, off_best = await plan_all(db, "OFF", accounts)
        async with db.transaction() as s:
            await best_time.set_enabled(s, CLIENT, True, NOW)
        on_s, on_attempts, on_best = await plan_all(db, "ON", accounts)
    finally:
        await db.dispose()
    assert off_best == 0 and on_attempts == off_attempts == 4 * accounts, (off_best, on_attempts, off_attempts)
    return {"accounts per second with best time, off (first allowed slot)":
            f"{accounts / on_s:,.0f}, {accounts / off_s:,.0f}",
            "accounts planned": f"{accounts:,} ({on_attempts:,} attempts)",
            "attempts put in a learned slot": f"{on_best:,}",
            "cost of best time": f"{on_s / off_s:.2f}x the time ({(on_s - off_s) / accounts * 1e6:,.0f} µs an account)"}


async def main() -> None:
    rows = int(os.environ.get("BENCH_ROWS", "1000000"))
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=rows, help="the relearning's history")
    parser.add_argument("--conversations", type=int, default=max(rows // 100, 100),
                        help="WhatsApp messages whose statuses (and one in ten a reply) the webhooks bring")
    parser.add_argument("--plan-accounts", type=int, default=max(rows // 10, 1000))
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    # Four messages a debtor over the lookback; a multiple of SEGMENTS, so message i's segment is i % SEGMENTS.
    accounts = -(-max(args.messages // 4, args.conversations) // SEGMENTS) * SEGMENTS
    url, data = fresh_database("conversations")
    try:
        await migrate_schemas(url, ("outreach",))
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            started = time.perf_counter()
            await plant_campaign(conn, args.messages, accounts)
            planted_s = time.perf_counter() - started
        finally:
            await conn.close()
        relearning = await bench_relearning(url, args.messages)
        webhooks = await bench_webhooks(url, data, args.conversations, accounts, args.concurrency)
        planning = await bench_planning(url, args.plan_accounts)
    finally:
        embedded_pg.stop(data)
    parts = {"webhooks": webhooks, "relearning": relearning, "planning": planning}
    save("conversations", {
        "title": f"Conversations (#20): WhatsApp webhooks, best-time relearning over {args.messages:,} messages, "
                 "planning with best time",
        "what": f"On the embedded default (durable settings): one client company in Colombia, {accounts:,} "
                f"debtors in {SEGMENTS} segments, {args.messages:,} messages sent over the 90-day lookback on four "
                "channels with their outcomes (answers, BAJAs, promises, accounts paid off; three trail entries "
                "each). **Webhooks**: Meta's signed notifications (X-Hub-Signature-256) posted by httpx to `recaudo "
                "serve outreach --role api` (one process): each message's `delivered`, then its `read` among text "
                "replies to one message in ten (to the agent desk, or answered with the payment link); each verified, "
                "settled forward only through the receipts' path (trail, outbox) or recorded and acted on, in one "
                "transaction. Floors: the same bodies' HMAC and JSON parse in this process plus one set-based UPDATE "
                "of the same attempts; /healthz of the same server. **Relearning**: `best_time.handlers.relearn` "
                "(outcome history, shrinkage, windows replaced, contact.best_times_learned, one transaction); floor: "
                "one GROUP BY (client, segment, channel, local weekday, hour) counting answers. **Planning**: "
                "`plan_ready`, 500 accounts a transaction, four touches on SMS and WhatsApp every 3 days, with the "
                "learned windows and with best time off for the client company (the first allowed slot).",
        "machine": machine(),
        # Each part's first figure (it and its floor) first: docs/reliability.md's table shows the first three.
        "figures": {**{f"{part}: {k}": v for part, figures in parts.items() for k, v in list(figures.items())[:1]},
                    **{f"{part}: {k}": v for part, figures in parts.items() for k, v in list(figures.items())[1:]},
                    "history planted (s)": f"{planted_s:.1f}"},
        "notes": "No targets of their own: figures to read beside their floors. The webhook server and the load "
                 "generator (Python) share the machine's two cores with PostgreSQL; the /healthz floor shows how "
                 "much of the webhook figure is HTTP and the client. The floor of the webhooks does none of what "
                 "makes a notification safe to acknowledge (the channel's secrets opened, forward-only settling, "
                 "the audit trail and the outbox, the reply matched to its debtor), and the relearning's floor "
                 "counts answers only (no promises or payments, no last-touch attribution); the ratios say what "
                 "those cost. Planning's figures include reading each batch's accounts and writing the attempts "
                 "and the trail, the same with best time on or off.",
    })
    print("conversations: " + "; ".join(f"{part} {k} {v}" for part, figures in parts.items()
                                        for k, v in list(figures.items())[:1]))


if __name__ == "__main__":
    asyncio.run(main())
