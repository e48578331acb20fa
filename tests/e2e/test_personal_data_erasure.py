"""A person's data erased on request reaches every copy (#19), through the public API on each transport.

Every service is filled with two people's data (an upload with a rejected row, segmentation, messages sent through
the sandbox, a gateway payment naming the payer, a promise, a hold set and lifted); the person's access request
answers everything held; erasure is refused while their account is active and accepted once it is recalled; once
it is completed, a dump of every schema, the event log, every Kafka topic (dead letters included) and the
platform's own log (at DEBUG) hold none of the person's identifiers in any spelling, while the other person's data
and the report's totals are intact. Retention erases closed people on schedule and leaves active ones; a rebuild of
the reports after an erasure gives the same totals."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from recaudo_common.testing import RunningPlatform, eventually, platform_process, settings_for_test
from recaudo_common.webhook_signatures import sign

from .personal_data_people import (
    CSV,
    ERASED,
    KEPT,
    OPERATOR_KEY,
    RECTIFIED,
    answered,
    cash_payment,
    database_dump,
    erase,
    leaks,
    personal_data_url,
    place,
    recall,
    settled_totals,
    totals,
)

pytestmark = pytest.mark.e2e
SLUG = "banco-azteca-privacidad"


@pytest.fixture(params=["postgres", "kafka"])
async def talkative_platform(request: pytest.FixtureRequest, database_url: str,
                             tmp_path: Path) -> AsyncIterator[RunningPlatform]:
    """The platform on each transport, logging at DEBUG: every logger it keeps writes to the file searched."""
    transport = request.param
    bootstrap = request.getfixturevalue("kafka_bootstrap") if transport == "kafka" else "unused:1"
    settings = settings_for_test(database_url, transport=transport, kafka_bootstrap=bootstrap)
    async with platform_process(settings, tmp_path, OPERATOR_KEY, RECAUDO_LOG_LEVEL="DEBUG") as platform:
        yield platform


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


async def assert_every_service_answers(operator: httpx.AsyncClient) -> None:
    """The access request that reaches every service: besides reporting's part, the person's reply in their own
    words, their do-not-contact entry and the hold's note (outreach), the rejected row naming them and the reason for
    their rectification (ingest); payments answers too (an applied payment keeps no payer's id); nothing of the
    other person."""
    started = await operator.post(f"/v1/clients/{SLUG}/debtors/{ERASED.id_number}/access-requests")
    assert started.status_code == 202, started.text
    done = await answered(operator, f"/v1/clients/{SLUG}/access-requests/{started.json()['id']}",
                          lambda b: b["status"] == "completed", "every service's part of the access request")
    assert done["answered_by"] == ["ingest", "outreach", "payments"]
    assert done["personal_data"]["identity"]["id_number"] == ERASED.id_number
    held = {service: {(r["kind"], json.dumps(r["values"], ensure_ascii=False)) for r in records}
            for service, records in done["held_by_service"].items()}
    said = {service: " ".join(text for _, text in records) for service, records in held.items()}
    assert {"reply", "do_not_contact", "hold_note", "account"} <= {kind for kind, _ in held["outreach"]}
    assert "BAJA por favor" in said["outreach"] and "reclamo de" in said["outreach"]
    assert {"rejected_row", "rectification", "account"} <= {kind for kind, _ in held["ingest"]}
    assert ERASED.full_name in said["ingest"] and "radicado 2291" in said["ingest"]
    assert not leaks(KEPT, {"the access request": json.dumps(done, ensure_ascii=False)})


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

    # Rectification at the person's request: the corrected phones and e-mail on every account, who and why kept
    # (why in ingest's record only: the operator's words never travel on the account topic).
    rectified = await operator.patch(f"/v1/clients/{SLUG}/debtors/{ERASED.id_number}/contact-points", json={
        "phones": [RECTIFIED.mobile, RECTIFIED.landline], "email": RECTIFIED.email,
        "reason": "la titular pidió corregir su celular y su correo (radicado 2291)"})
    assert rectified.status_code == 200, rectified.text
    assert (rectified.json()["accounts"], rectified.json()["fields"]) == ([ERASED.account_ref], ["phones", "email"])
    trail = await answered(operator, f"/v1/clients/{SLUG}/accounts/{ERASED.account_ref}/contacts",
                           lambda b: any(t["kind"] == "contact_rectified" for t in b["trail"]),
                           "the rectification in outreach's audit trail")
    entry = next(t for t in trail["trail"] if t["kind"] == "contact_rectified")
    assert entry["detail"]["rectified_by"].startswith("key:") and "radicado 2291" not in json.dumps(entry)
    assert not leaks(RECTIFIED, {"trail": json.dumps(entry)})

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
        await assert_every_service_answers(operator)

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
