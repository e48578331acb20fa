"""A person's data erased on request reaches every copy (#19), through the public API on each transport.

Every service is filled with two people's data (an upload with a rejected row, segmentation, messages sent through
the sandbox, a gateway payment naming the payer, a promise, a hold set and lifted); the person's access request
answers everything held; erasure is refused while their account is active and accepted once it is recalled; once
it is completed, a dump of every schema, the event log, every Kafka topic (dead letters included) and the
platform's own log (at DEBUG) hold none of the person's identifiers in any spelling, while the other person's data
and the report's totals are intact. Retention erases closed people on schedule and leaves active ones; a rebuild of
the reports after an erasure gives the same totals."""

from __future__ import annotations

import asyncio
import binascii
import datetime as dt
import json
import subprocess
import sys
import unicodedata
import uuid
import zoneinfo
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from recaudo_common.db import asyncpg_dsn
from recaudo_common.testing import RunningPlatform, eventually, platform_env, platform_process, settings_for_test
from recaudo_common.webhook_signatures import sign

pytestmark = pytest.mark.e2e
OPERATOR_KEY = "rk_e2e_erasure_operator_key_01234567"
SLUG = "banco-azteca-privacidad"


@dataclass(frozen=True)
class Person:
    """One debtor as the client company's file states them. Every value is unusual enough that finding it
    anywhere can only mean a copy of this person's data."""

    account_ref: str
    id_number: str
    full_name: str
    mobile: str  # as written in the file, national form with spaces
    landline: str
    email: str
    address: str
    balance: str
    days_past_due: int

    def row(self, account_ref: str | None = None, balance: str | None = None) -> str:
        return (f"{account_ref or self.account_ref};{self.id_number};CURP;{self.full_name};{self.mobile};"
                f"{self.landline};{self.email};{self.address};Jalisco;{balance or self.balance};"
                f"{self.days_past_due}\n")

    def identifiers(self) -> dict[str, str]:
        """What must not survive the person's erasure, by what it is: the name and each of its words (a message
        greets the debtor by first name), the id number, each phone as written, national and E.164, the e-mail
        and the address."""
        found = {"full name": self.full_name, "id number": self.id_number, "e-mail": self.email,
                 "address": self.address}
        found.update({f"name word {word}": word for word in self.full_name.split()})
        for label, written in (("mobile", self.mobile), ("landline", self.landline)):
            national = written.replace(" ", "")
            found.update({f"{label} as written": written, f"{label} national": national,
                          f"{label} E.164": f"+52{national}"})
        return found


HEADER = ("Número Obligación;Identificación;Tipo Identificación;Nombre Completo;Celular;Teléfono;Correo;Dirección;"
          "Estado;Saldo Total;Días Mora\n")
ERASED = Person("P-001", "QUBE800101MDFNRR07", "Eufrasia Quiñones Barrionuevo", "800 864 2193", "33 3791 4628",
                "eufrasia.quinones@correo-ejemplo.mx", "Calle Tlaquepaque 4821 Interior 7", "1850000.00", 15)
KEPT = Person("P-002", "ZALT750505HJCPZD04", "Teodomiro Zapatero Lizcano", "800 731 9284", "33 3528 1974",
              "teodomiro.zapatero@correo-ejemplo.mx", "Avenida Chapultepec 9137 Piso 3", "920000.00", 45)
# The erased person's contact points as they asked to have them corrected (rectification): more copies to erase.
RECTIFIED = replace(ERASED, mobile="800 902 7361", email="eufrasia.barrionuevo@otro-correo.mx")
# A second row of the erased person, rejected for its balance: ingest keeps its raw cells, another copy.
CSV = HEADER + ERASED.row() + ERASED.row("P-009", "no es un saldo") + KEPT.row()


def spellings(value: str) -> set[str]:
    """How a value may be written in a dump, a record or a log line, lower-cased: as is (composed or decomposed
    accents), JSON-escaped (a json.dumps with ensure_ascii, then that again inside COPY's text format) and as hex
    (bytea, in UTF-8 or Latin-1)."""
    escaped = json.dumps(value)[1:-1]
    return {s.lower() for s in (value, unicodedata.normalize("NFD", value), escaped, escaped.replace("\\", "\\\\"),
                                binascii.hexlify(value.encode()).decode(),
                                binascii.hexlify(value.encode("latin-1", "replace")).decode())}


def leaks(person: Person, haystacks: dict[str, str]) -> list[str]:
    """Which of the person's identifiers appear in which haystack (where: what)."""
    lowered = {where: text.lower() for where, text in haystacks.items()}
    return [f"{where}: {label}" for label, value in person.identifiers().items() for spelling in spellings(value)
            for where, text in lowered.items() if spelling in text]


def mexico_zone_in_contact_hours(now: dt.datetime) -> str:
    """An IANA zone where it is now between 09:00 and 19:00, so Mexican contact law (every day 07-22) lets the
    sandbox send at once: Mexico City when it is, else the nearest whole-hour zone."""
    for offset in sorted(range(-12, 15), key=lambda h: abs(h + 6)):
        zone = "America/Mexico_City" if offset == -6 else f"Etc/GMT{-offset:+d}"
        if 9 <= now.astimezone(zoneinfo.ZoneInfo(zone)).hour < 19:
            return zone
    raise AssertionError("every hour of the day is covered by some zone")


def client_body(slug: str) -> dict[str, str]:
    return {"slug": slug, "name": "Banco Azteca Privacidad S.A.", "country": "MX", "currency": "MXN",
            "timezone": mexico_zone_in_contact_hours(dt.datetime.now(dt.UTC)), "locale": "es-MX"}


@pytest.fixture(params=["postgres", "kafka"])
async def talkative_platform(request: pytest.FixtureRequest, database_url: str,
                             tmp_path: Path) -> AsyncIterator[RunningPlatform]:
    """The platform on each transport, logging at DEBUG: every logger it keeps writes to the file searched."""
    transport = request.param
    bootstrap = request.getfixturevalue("kafka_bootstrap") if transport == "kafka" else "unused:1"
    settings = settings_for_test(database_url, transport=transport, kafka_bootstrap=bootstrap)
    async with platform_process(settings, tmp_path, OPERATOR_KEY, RECAUDO_LOG_LEVEL="DEBUG") as platform:
        yield platform


@pytest.fixture
async def embedded_platform(database_url: str, tmp_path: Path) -> AsyncIterator[RunningPlatform]:
    """The platform on its embedded transport (the event log is a table), logging at DEBUG."""
    async with platform_process(settings_for_test(database_url), tmp_path, OPERATOR_KEY,
                                RECAUDO_LOG_LEVEL="DEBUG") as platform:
        yield platform


async def answered(http: httpx.AsyncClient, url: str, check: Any, message: str, timeout_s: float = 90) -> Any:
    """The JSON answer of `url` once it is 200 and `check` holds (else a failure that shows the last answer)."""
    last: list[str] = []

    async def fetch() -> Any:
        answer = await http.get(url)
        last[:] = [f"{answer.status_code} {answer.text[:2000]}"]
        return answer.json() if answer.status_code == 200 and check(answer.json()) else None

    try:
        return await eventually(fetch, timeout_s=timeout_s, message=message)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last answer: {last}") from None


async def place(operator: httpx.AsyncClient, slug: str, csv: str, *, accepted: int, rejected: int) -> str:
    """Creates the client company, uploads its file and waits until its accounts are placed and segmented;
    returns the upload's id."""
    assert (await operator.post("/v1/clients", json=client_body(slug))).status_code == 201
    upload = await operator.post(f"/v1/clients/{slug}/portfolios",
                                 files={"file": ("cartera.csv", csv.encode(), "text/csv")})
    assert upload.status_code == 202, upload.text
    done = await answered(operator, f"/v1/portfolios/{upload.json()['id']}", lambda b: b["status"] == "completed",
                          "upload completed")
    assert (done["rows_accepted"], done["rows_rejected"]) == (accepted, rejected), done
    await answered(operator, f"/v1/clients/{slug}/reports/recovery?group_by=bucket",
                   lambda b: b["totals"]["accounts_placed"] == accepted
                   and all(g["key"] != "unassigned" for g in b["groups"]),
                   "accounts placed and segmented", timeout_s=120)
    return str(upload.json()["id"])


async def totals(operator: httpx.AsyncClient, slug: str) -> dict[str, Any]:
    """The recovery report's totals, overall and by bucket: what an erasure must not change."""
    overall = await operator.get(f"/v1/clients/{slug}/reports/recovery")
    by_bucket = await operator.get(f"/v1/clients/{slug}/reports/recovery", params={"group_by": "bucket"})
    assert overall.status_code == by_bucket.status_code == 200, overall.text
    return {"totals": overall.json()["totals"],
            "groups": sorted((g["key"], g["accounts_placed"], g["recovered"]) for g in by_bucket.json()["groups"])}


async def settled_totals(operator: httpx.AsyncClient, slug: str) -> dict[str, Any]:
    """The totals once two reads a moment apart agree (the report is fed asynchronously)."""
    last: dict[str, Any] = {}

    async def unchanged() -> dict[str, Any]:
        nonlocal last
        current = await totals(operator, slug)
        same, last = current == last, current
        return current if same else {}

    return await eventually(unchanged, timeout_s=60, interval_s=1, message="the report settled")


async def recall(operator: httpx.AsyncClient, slug: str, account_ref: str) -> None:
    recalled = await operator.post(f"/v1/clients/{slug}/recalls", json={"account_refs": [account_ref]})
    assert recalled.status_code == 200, recalled.text
    await answered(operator, f"/v1/clients/{slug}/accounts/{account_ref}", lambda b: b["status"] == "recalled",
                   f"{account_ref} recalled in reporting")


async def cash_payment(operator: httpx.AsyncClient, slug: str, account_ref: str, amount: str) -> None:
    """A payment at the agency's till, tried until payments knows the account (a try before that is kept as
    unmatched, naming only the account)."""

    async def applied() -> bool:
        paid = await operator.post(f"/v1/clients/{slug}/payments", headers={"Idempotency-Key": str(uuid.uuid4())},
                                   json={"account_ref": account_ref, "amount": amount, "method": "cash",
                                         "paid_at": dt.datetime.now(dt.UTC).isoformat()})
        assert paid.status_code == 200, paid.text
        return bool(paid.json()["status"] == "applied")

    await eventually(applied, timeout_s=60, interval_s=0.5, message=f"a payment applied to {account_ref}")


def personal_data_url(slug: str, person: Person) -> str:
    return f"/v1/clients/{slug}/debtors/{person.id_number}/personal-data"


async def erase(platform: RunningPlatform, operator: httpx.AsyncClient, slug: str, person: Person) -> dict[str, Any]:
    """Asks for the person's erasure and waits until it is completed (a failure shows the platform's log)."""
    asked = await operator.post(f"/v1/clients/{slug}/debtors/{person.id_number}/erasure",
                                json={"reason": "solicitud del titular (supresión)"})
    assert asked.status_code == 202, asked.text
    assert set(asked.json()) >= {"id", "status"}, asked.json()
    try:
        return dict(await answered(operator, f"/v1/clients/{slug}/erasures/{asked.json()['id']}",
                                   lambda b: b["status"] == "completed", "the erasure completed", timeout_s=120))
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nthe platform's log ends:\n{platform.process.log_tail(60)}") from None


def assert_holds_everything(access: dict[str, Any]) -> None:
    """The erased person's access response: identity, contact points with their consent evidence, accounts,
    attempts and messages, payments, promises, holds, consents and the access log, each as it happened."""
    person = RECTIFIED
    identity = access["identity"]
    assert (identity["full_name"], identity["id_number"], identity["email"], identity["address"]) == (
        person.full_name, person.id_number, person.email, person.address)
    phones = [f"+52{p.replace(' ', '')}" for p in (person.mobile, person.landline)]
    assert sorted(identity["phones"]) == sorted(phones)
    points = {(p["kind"], p["value"]) for p in access["contact_points"]}
    assert {("phone", p) for p in phones} | {("email", person.email)} <= points
    assert any(p["consents"] for p in access["contact_points"]), "no consent evidence with the contact points"
    assert [a["account_ref"] for a in access["accounts"]] == [person.account_ref]
    sent = [c for c in access["contacts"] if c["attempted"] and c["template"]]
    assert sent, access["contacts"]
    assert any(c["channel"] == "voice" and c["outcome"] == "promise_to_pay" for c in access["contacts"])
    assert sorted(Decimal(p["amount"]) for p in access["payments"]) == [Decimal("50000"), Decimal("200000")]
    assert [Decimal(p["amount"]) for p in access["promises"]] == [Decimal("300000")]
    assert sorted((h["hold"], h["what"]) for h in access["holds"]) == [("dispute", "lifted"), ("dispute", "set")]
    assert {c["account_ref"] for c in access["consents"]} == {person.account_ref}
    assert any(c["what"] == "withdrawn" and c["source"] == "reply" for c in access["consents"]), access["consents"]
    reads = [e for e in access["access_log"] if e["what"] == "access"]
    assert len(reads) >= 2 and all(e["by_role"] == "operator" for e in reads), access["access_log"]


async def sent_messages(operator: httpx.AsyncClient, slug: str, account_ref: str) -> list[dict[str, Any]]:
    """Waits until the sandbox has sent the account at least one message; returns its attempts."""
    history = await answered(operator, f"/v1/clients/{slug}/accounts/{account_ref}/contacts",
                             lambda b: any(a["sent_at"] for a in b["items"]),
                             f"a message sent to {account_ref} through the sandbox", timeout_s=120)
    return list(history["items"])


async def fill_every_service(platform: RunningPlatform, operator: httpx.AsyncClient) -> str:
    """Upload (with a rejected row of the erased person), segmentation, messages sent, the erased person's reply
    opting out in their own words, a rectification, a till payment and a gateway payment naming the payer by id
    number, a promise, a hold set (the operator's note naming the person) and lifted, the person on the
    do-not-contact list: each service holds a copy of both people. Returns the upload's id."""
    portfolio_id = await place(operator, SLUG, CSV, accepted=2, rejected=1)
    rejections = (await operator.get(f"/v1/portfolios/{portfolio_id}/rejections")).json()["items"]
    assert [r["code"] for r in rejections] == ["invalid_balance"]
    assert ERASED.full_name in json.dumps(rejections, ensure_ascii=False)  # its raw cells, kept for the client
    sent = {person: await sent_messages(operator, SLUG, person.account_ref) for person in (ERASED, KEPT)}

    # The person answers the SMS from their phone, opting out and saying who they are, as debtors do.
    sms = next(a for a in sent[ERASED] if a["channel"] == "sms" and a["sent_at"])
    reply = json.dumps({"message_id": f"sbx-{sms['id']}", "status": "reply", "channel": "sms",
                        "reply_from": f"+52{ERASED.mobile.replace(' ', '')}",
                        "detail": f"BAJA por favor. Soy {ERASED.full_name}, escríbanme solo a {ERASED.email}"})
    replied = await operator.post("/v1/webhooks/outreach/sandbox", content=reply.encode(), headers={
        "Recaudo-Signature": sign(reply.encode(), platform.settings.sandbox_gateway_secret, dt.datetime.now(dt.UTC)),
        "Content-Type": "application/json"})
    assert (replied.status_code, replied.json()["applied"]) == (200, 1), replied.text
    await answered(operator, f"/v1/clients/{SLUG}/accounts/{ERASED.account_ref}/consents",
                   lambda b: "withdrawn" in json.dumps(b), "the opt-out in the consent evidence")

    # Rectification at the person's request: the corrected phones and e-mail on every account, who and why kept.
    rectified = await operator.patch(f"/v1/clients/{SLUG}/debtors/{ERASED.id_number}/contact-points", json={
        "phones": [RECTIFIED.mobile, RECTIFIED.landline], "email": RECTIFIED.email,
        "reason": "la titular pidió corregir su celular y su correo (radicado 2291)"})
    assert rectified.status_code == 200, rectified.text
    assert (rectified.json()["accounts"], rectified.json()["fields"]) == ([ERASED.account_ref], ["phones", "email"])
    trail = await answered(operator, f"/v1/clients/{SLUG}/accounts/{ERASED.account_ref}/contacts",
                           lambda b: any(t["kind"] == "contact_rectified" for t in b["trail"]),
                           "the rectification in outreach's audit trail")
    entry = next(t for t in trail["trail"] if t["kind"] == "contact_rectified")
    assert "radicado 2291" in json.dumps(entry["detail"]) and not leaks(RECTIFIED, {"trail": json.dumps(entry)})

    now = dt.datetime.now(dt.UTC)
    for person in (ERASED, KEPT):
        # A payment at the till, then one through the gateway naming only the payer's id number.
        await cash_payment(operator, SLUG, person.account_ref, "200000.00")
        body = json.dumps({"payment_id": f"sbx-{uuid.uuid4()}", "client": SLUG, "debtor_id": person.id_number,
                           "amount": "50000.00", "currency": "MXN", "paid_at": now.isoformat(),
                           "method": "card"}).encode()
        paid = await operator.post("/v1/webhooks/payments/sandbox", content=body, headers={
            "Recaudo-Signature": sign(body, platform.settings.sandbox_gateway_secret, now),
            "Content-Type": "application/json"})
        assert (paid.status_code, paid.json()["status"]) == (200, "applied"), paid.text  # matched by the payer's id

    called = now - dt.timedelta(minutes=30)
    logged = await operator.post(f"/v1/clients/{SLUG}/accounts/{ERASED.account_ref}/contacts", json={
        "channel": "voice", "at": called.isoformat(), "outcome": "promise_to_pay",
        "promise": {"amount": "300000.00", "due_date": (called + dt.timedelta(days=10)).date().isoformat()}})
    assert logged.status_code == 201, logged.text
    assert logged.headers["Location"] == f"/v1/clients/{SLUG}/accounts/{ERASED.account_ref}/contacts"
    held = await operator.post(f"/v1/clients/{SLUG}/accounts/{ERASED.account_ref}/legal-holds",
                               json={"hold": "dispute", "note": f"reclamo de {ERASED.full_name}, radicado 2291"})
    assert held.status_code == 201, held.text
    assert held.headers["Location"] == f"/v1/clients/{SLUG}/accounts/{ERASED.account_ref}/legal-holds/dispute"
    lifted = await operator.delete(f"/v1/clients/{SLUG}/accounts/{ERASED.account_ref}/legal-holds/dispute")
    assert lifted.status_code == 204, lifted.text
    listed = await operator.post(f"/v1/clients/{SLUG}/do-not-contact",
                                 json={"debtor_id": ERASED.id_number, "reason": "lo pidió por escrito"})
    assert (listed.status_code, listed.json()["accounts"]) == (201, 1), listed.text
    await answered(operator, f"/v1/clients/{SLUG}/accounts/{ERASED.account_ref}",
                   lambda b: Decimal(b["recovered"]) == Decimal("250000.00"), "both payments in reporting")
    return portfolio_id


async def database_dump(platform: RunningPlatform) -> dict[str, str]:
    """Every schema's data, table by table: pg_dump of the whole database with the embedded server's own binaries
    (they match the server's version), or, where they are not installed, every row of every table of every
    schema that is not PostgreSQL's own as JSON."""
    from recaudo_common.embedded_pg import EmbeddedPostgresMissing, binary

    dsn = asyncpg_dsn(platform.settings.database_url)
    try:
        pg_dump = binary("pg_dump")
    except EmbeddedPostgresMissing:
        return await rows_as_json(dsn)
    dumped = await asyncio.to_thread(subprocess.run, [pg_dump, "--data-only", "--no-owner", dsn],
                                     capture_output=True, text=True, timeout=120)
    assert dumped.returncode == 0, dumped.stderr
    tables: dict[str, str] = {}
    current = "(outside a table)"
    for line in dumped.stdout.splitlines():
        if line.startswith("COPY "):
            current = line.split(" ", 2)[1]
        tables[current] = tables.get(current, "") + line + "\n"
    return tables


async def rows_as_json(dsn: str) -> dict[str, str]:
    connection = await asyncpg.connect(dsn)
    try:
        names = await connection.fetch(
            """SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'
               AND table_schema NOT IN ('pg_catalog', 'information_schema') AND table_schema NOT LIKE 'pg_toast%'""")
        return {f"{n['table_schema']}.{n['table_name']}": "\n".join(
            r[0] for r in await connection.fetch(
                f'SELECT row_to_json(t)::text FROM "{n["table_schema"]}"."{n["table_name"]}" t'))
            for n in names}
    finally:
        await connection.close()


async def kafka_records(bootstrap: str, prefix: str) -> dict[str, str]:
    """Every record of every topic of this platform (dead-letter topics included), read raw from the beginning:
    topic -> each record's key, value and headers, one per line."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = sorted(t for t in await admin.list_topics() if t.startswith(f"{prefix}."))
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    partitions = [TopicPartition(d["topic"], p["partition"]) for d in described for p in d["partitions"]]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: dict[str, list[str]] = {t: [] for t in topics}

        async def read_to_the_end() -> bool:
            for batch in (await consumer.getmany(timeout_ms=500, max_records=1000)).values():
                for r in batch:
                    parts = [r.key or b"", r.value or b""] + [k.encode() + b"=" + (v or b"") for k, v in r.headers]
                    records[r.topic].append(" | ".join(p.decode("utf-8", "replace") for p in parts))
            positions = [await consumer.position(tp) for tp in partitions]
            return all(position >= ends[tp] for tp, position in zip(partitions, positions, strict=True))

        await eventually(read_to_the_end, timeout_s=60, interval_s=0, message="every topic read to its end")
        return {f"topic {t}": "\n".join(lines) for t, lines in records.items()}
    finally:
        await consumer.stop()


async def test_an_erasure_reaches_every_copy(talkative_platform: RunningPlatform) -> None:
    platform = talkative_platform
    async with platform.client() as operator:
        portfolio_id = await fill_every_service(platform, operator)

        # Access: everything held about the person, and who read it (this read included).
        await answered(operator, personal_data_url(SLUG, ERASED),
                       lambda b: b["identity"]["email"] == RECTIFIED.email and len(b["payments"]) == len(b["holds"]) == 2
                       and len(b["promises"]) == 1 and any(c["what"] == "withdrawn" for c in b["consents"]),
                       "the rectification, payments, holds and the opt-out in reporting")
        access = await operator.get(personal_data_url(SLUG, ERASED))
        assert access.status_code == 200, access.text
        assert_holds_everything(access.json())
        assert KEPT.full_name not in access.text and KEPT.account_ref not in access.text

        # The account is open: the obligation is the legal basis to keep the data.
        refused = await operator.post(f"/v1/clients/{SLUG}/debtors/{ERASED.id_number}/erasure")
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "obligation_active", refused.json()
        assert ERASED.account_ref in refused.json()["detail"] and "legal basis" in refused.json()["detail"]

        await recall(operator, SLUG, ERASED.account_ref)
        before = await settled_totals(operator, SLUG)
        completed = await erase(platform, operator, SLUG, ERASED)
        assert (completed["reason"], completed["account_refs"], completed["confirmed_by"]) == (
            "request", [ERASED.account_ref], ["ingest", "outreach", "payments"]), completed

        # Nothing of the person anywhere: every schema (the embedded event log, bus.log, is one of its tables),
        # every topic and dead-letter topic, the platform's own log.
        tables = await database_dump(platform)
        if platform.settings.transport == "postgres":
            assert ERASED.account_ref in tables.get("bus.log", ""), "the event log was not in the dump"
        haystacks = {f"table {name}": text for name, text in tables.items()}
        if platform.settings.transport == "kafka":
            topics = await kafka_records(platform.settings.kafka_bootstrap, platform.settings.topic_prefix)
            assert any(ERASED.account_ref in text for text in topics.values()), "the topics hold no account events"
            assert any(name.endswith(".dlq") for name in topics), f"no dead-letter topic read: {sorted(topics)}"
            haystacks.update(topics)
        log = platform.process.log_path.read_text(errors="replace")
        assert '"level": "DEBUG"' in log, "the platform's log was not captured at DEBUG"
        haystacks["the platform's log"] = log
        assert ERASED.account_ref in tables.get("reporting.accounts", ""), "the erased person's accounts must stay"
        # The same search does find the other person, where the services keep what they need to reach them: it is
        # a search that can fail.
        assert {"full name", "id number", "e-mail", "mobile E.164"} <= {
            f.split(": ", 1)[1] for f in leaks(KEPT, haystacks) if f.startswith("table ")}
        # ... and never in an event or a log line, erased or not: events carry the person sealed.
        unsealed = leaks(KEPT, {where: text for where, text in haystacks.items()
                                if where in ("table bus.log", "the platform's log") or where.startswith("topic ")})
        assert not unsealed, unsealed
        found = leaks(ERASED, haystacks) + leaks(RECTIFIED, haystacks)
        assert not found, "the erased person's data survives:\n" + "\n".join(sorted(set(found)))

        # The other person is intact; the report's figures are as they were; the erased person is not known.
        kept = await operator.get(personal_data_url(SLUG, KEPT))
        assert kept.status_code == 200, kept.text
        assert KEPT.full_name in kept.text and KEPT.email in kept.text and KEPT.id_number in kept.text
        assert await totals(operator, SLUG) == before
        gone = await operator.get(personal_data_url(SLUG, ERASED))
        assert gone.status_code == 404, gone.text
        # Nor do the routes that showed the person's accounts before: they answer without the person.
        answers = {"the 404": gone.text}
        for path in (f"/v1/portfolios/{portfolio_id}/rejections", f"/v1/portfolios/{portfolio_id}/warnings",
                     f"/v1/clients/{SLUG}/placements/{ERASED.account_ref}",
                     f"/v1/clients/{SLUG}/accounts/{ERASED.account_ref}/contacts",
                     f"/v1/clients/{SLUG}/accounts/{ERASED.account_ref}/consents",
                     f"/v1/clients/{SLUG}/accounts/{ERASED.account_ref}", f"/v1/clients/{SLUG}/erasures",
                     f"/v1/clients/{SLUG}/payments/unmatched"):
            answer = await operator.get(path)
            assert answer.status_code in (200, 404), (path, answer.status_code, answer.text)
            answers[path] = answer.text
        shown = leaks(ERASED, answers) + leaks(RECTIFIED, answers)
        assert not shown, shown


RETENTION_SLUG = "banco-azteca-retencion"
RECALLED = Person("R-001", "MOVA620915HDFRRL02", "Anacleto Mondragón Valdivieso", "800 918 3276", "33 3164 9827",
                  "anacleto.mondragon@correo-ejemplo.mx", "Privada Xochimilco 7314", "640000.00", 30)
PAID_OFF = Person("R-002", "BECR881122MJCRRS05", "Clotilde Berrocal Roldán", "800 642 9183", "33 3847 2619",
                  "clotilde.berrocal@correo-ejemplo.mx", "Callejón Analco 2958", "90000.00", 20)
ACTIVE = Person("R-003", "SOPE910303HNLTRN08", "Ezequiel Sotomayor Pedraza", "800 284 6731", "33 3619 4827",
                "ezequiel.sotomayor@correo-ejemplo.mx", "Boulevard Tlalpan 6182", "410000.00", 60)
RECALLED_LATER = Person("R-004", "GUAI700707MOCTRM03", "Leocadia Guardiola Ibarrondo", "800 371 9826",
                        "33 3482 9163", "leocadia.guardiola@correo-ejemplo.mx", "Cerrada Coyoacán 5307", "275000.00", 90)


@pytest.fixture
async def sweeping_platform(database_url: str, tmp_path: Path) -> AsyncIterator[RunningPlatform]:
    """The platform on its embedded transport with the daily retention job running every second instead, so a
    test sees it act on schedule without waiting a day."""
    async with platform_process(settings_for_test(database_url), tmp_path, OPERATOR_KEY, RECAUDO_LOG_LEVEL="DEBUG",
                                RECAUDO_REPORTING_RETENTION_SWEEP_S="1") as platform:
        yield platform


async def test_retention_erases_the_closed_on_schedule_and_keeps_the_active(
        sweeping_platform: RunningPlatform) -> None:
    platform = sweeping_platform
    slug = RETENTION_SLUG
    async with platform.client() as operator:
        people = (RECALLED, PAID_OFF, ACTIVE, RECALLED_LATER)
        await place(operator, slug, HEADER + "".join(p.row() for p in people), accepted=4, rejected=0)
        await recall(operator, slug, RECALLED.account_ref)
        await cash_payment(operator, slug, PAID_OFF.account_ref, PAID_OFF.balance)
        await answered(operator, f"/v1/clients/{slug}/accounts/{PAID_OFF.account_ref}", lambda b: b["status"] == "paid",
                       "paid off in reporting")
        for person in people:
            assert (await operator.get(personal_data_url(slug, person))).status_code == 200
        before = await settled_totals(operator, slug)

        kept = await operator.put(f"/v1/clients/{slug}/retention", json={"days_after_closure": 0})
        assert kept.status_code == 200, kept.text
        assert (await operator.get(f"/v1/clients/{slug}/retention")).json()["days_after_closure"] == 0

        def erased_by_retention(*refs: str) -> Any:
            """Whether exactly these accounts' people were erased by retention, and completed."""
            def check(body: dict[str, Any]) -> bool:
                return sorted(ref for e in body["items"] if e["reason"] == "retention" and e["status"] == "completed"
                              for ref in e["account_refs"]) == sorted(refs)
            return check

        erasures = await answered(operator, f"/v1/clients/{slug}/erasures",
                                  erased_by_retention(RECALLED.account_ref, PAID_OFF.account_ref),
                                  "the recalled and the paid-off person erased by retention", timeout_s=120)
        assert sorted(ref for e in erasures["items"] for ref in e["account_refs"]) == [
            RECALLED.account_ref, PAID_OFF.account_ref]
        for person in (RECALLED, PAID_OFF):
            assert (await operator.get(personal_data_url(slug, person))).status_code == 404
        # The pass that erased them found the active people not due; the report's figures did not move.
        for person in (ACTIVE, RECALLED_LATER):
            held = await operator.get(personal_data_url(slug, person))
            assert held.status_code == 200 and person.full_name in held.text, held.text
        assert await totals(operator, slug) == before

        # The job keeps running on its schedule: a person recalled later is erased by a later pass, and the
        # people erased before are not asked again (one erasure each).
        await recall(operator, slug, RECALLED_LATER.account_ref)
        erasures = await answered(operator, f"/v1/clients/{slug}/erasures",
                                  erased_by_retention(RECALLED.account_ref, PAID_OFF.account_ref,
                                                      RECALLED_LATER.account_ref),
                                  "the person recalled later erased by retention", timeout_s=120)
        assert sorted(ref for e in erasures["items"] for ref in e["account_refs"]) == [
            RECALLED.account_ref, PAID_OFF.account_ref, RECALLED_LATER.account_ref]
        assert (await operator.get(personal_data_url(slug, RECALLED_LATER))).status_code == 404
        active = await operator.get(personal_data_url(slug, ACTIVE))
        assert active.status_code == 200 and ACTIVE.full_name in active.text, active.text

    tables = await database_dump(platform)
    haystacks = {f"table {n}": t for n, t in tables.items()}
    haystacks["the platform's log"] = platform.process.log_path.read_text(errors="replace")
    found = [f for p in (RECALLED, PAID_OFF, RECALLED_LATER) for f in leaks(p, haystacks)]
    assert not found, "a person erased by retention survives:\n" + "\n".join(sorted(set(found)))


async def rebuild(platform: RunningPlatform) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "recaudo.cli", "reporting", "rebuild"],
        env=platform_env(platform.settings), capture_output=True, text=True, timeout=300)


async def test_a_rebuild_after_an_erasure_gives_the_same_totals(embedded_platform: RunningPlatform) -> None:
    """The reports rebuilt from the event log after an erasure: the same totals, on pseudonymous ids."""
    platform = embedded_platform
    slug = "banco-azteca-reconstruye"
    async with platform.client() as operator:
        await place(operator, slug, HEADER + ERASED.row() + KEPT.row(), accepted=2, rejected=0)
        for person, amount in ((ERASED, "400000.00"), (KEPT, "75000.00")):
            await cash_payment(operator, slug, person.account_ref, amount)
        await recall(operator, slug, ERASED.account_ref)
        before = await settled_totals(operator, slug)
        assert Decimal(before["totals"]["recovered"]) == Decimal("475000.00")
        await erase(platform, operator, slug, ERASED)

        rebuilt = await rebuild(platform)
        assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
        assert "every report figure of the rebuilt tables equals the live one" in rebuilt.stdout
        assert await totals(operator, slug) == before
        assert not leaks(ERASED, {"the rebuild's output": rebuilt.stdout + rebuilt.stderr})
        assert (await operator.get(personal_data_url(slug, ERASED))).status_code == 404
        kept = await operator.get(personal_data_url(slug, KEPT))
        assert kept.status_code == 200 and KEPT.full_name in kept.text, kept.text

    # The replayed tables (schema reporting_rebuild) opened nothing of the erased person either.
    tables = await database_dump(platform)
    assert any(name.startswith("reporting_rebuild.") for name in tables), sorted(tables)
    found = leaks(ERASED, {f"table {n}": t for n, t in tables.items()})
    assert not found, "the erased person's data is back after the rebuild:\n" + "\n".join(sorted(set(found)))
