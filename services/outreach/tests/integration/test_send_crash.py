"""A crash never double-sends a message nor skips the contact law. The outreach worker runs as its own process
against a local Twilio-style server that counts every message it is given; it is SIGKILLed while the server
holds its request (between the claim and the confirmation), another worker takes over, and the server has
exactly one message. In process: a send the provider never got is decided again under the contact law before
it goes (and not sent once the window has closed); a lost answer is confirmed by the status callback that names
its attempt; a send SMTP cannot vouch for is `unknown` for an operator; a replica whose lease expired can
neither send nor confirm; two replicas reconciling the same sends take each once."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from outreach.domain.contact_law import RULES, ContactRequest, decide_contact
from outreach.providers import Sent
from outreach.sending.handlers import claim_due, reconcile_expired, record_answers, send_claimed
from recaudo_common.local_ports import free_port
from recaudo_common.testing import RunningProcess, eventually, platform_env

from .conftest import Outreach, client_event, make_outreach, segmented
from .fake_twilio import FakeTwilio, serving

pytestmark = pytest.mark.integration
TWILIO = {"twilio_account_sid": "AC123", "twilio_auth_token": "tok-secret", "twilio_sms_from": "+15005550006"}


def noon_somewhere(now: dt.datetime) -> str:
    """A fixed-offset zone where it is about noon now, so Mexico's rules (07-22 every day) allow contact for hours
    whatever the hour the test runs."""
    offset = (12 - now.hour) % 24
    offset = offset - 24 if offset > 14 else offset
    return "Etc/GMT" + (f"-{offset}" if offset > 0 else f"+{-offset}" if offset < 0 else "")


async def attempt_row(o: Outreach, ref: str) -> dict[str, Any]:
    rows = await o.sql("SELECT id, status, sent_at, provider_message_id, failure FROM outreach.attempts "
                       "WHERE account_ref = :r AND sequence = 1", r=ref)
    return dict(zip(("id", "status", "sent_at", "provider_message_id", "failure"), rows[0], strict=True))


async def decisions(o: Outreach, attempt_id: uuid.UUID) -> list[tuple[bool, list[str]]]:
    rows = await o.sql("SELECT allowed, reasons FROM outreach.decisions WHERE attempt_id = :a ORDER BY id",
                       a=attempt_id)
    return [(r[0], list(r[1])) for r in rows]


async def kinds(o: Outreach, attempt_id: uuid.UUID) -> list[str]:
    return [r[0] for r in await o.sql("SELECT kind FROM outreach.trail WHERE attempt_id = :a ORDER BY id",
                                      a=attempt_id)]


async def test_a_worker_killed_between_claim_and_confirm_sends_once(database_url: str, tmp_path: Path) -> None:
    fake = FakeTwilio(hold=asyncio.Event(), callbacks=False)
    async with serving(fake) as base_url:
        o, http = await make_outreach(database_url)
        now = dt.datetime.now(dt.UTC)
        o.clock.now = now
        zone = noon_somewhere(now)
        env = platform_env(o.platform.settings, RECAUDO_OUTREACH_PROVIDERS=json.dumps({"sms": "twilio"}),
                           RECAUDO_OUTREACH_TWILIO_BASE_URL=base_url, RECAUDO_OUTREACH_TWILIO_ACCOUNT_SID="AC123",
                           RECAUDO_OUTREACH_TWILIO_AUTH_TOKEN="tok-secret",
                           RECAUDO_OUTREACH_TWILIO_SMS_FROM="+15005550006",
                           RECAUDO_OUTREACH_PROVIDER_TIMEOUT_S="3", RECAUDO_OUTREACH_SENDING_TIMEOUT_S="5",
                           RECAUDO_OUTREACH_SCHEDULER_POLL_S="0.2", RECAUDO_PUBLIC_URL=f"http://127.0.0.1:{free_port()}")
        first = RunningProcess(["serve", "outreach", "--role", "worker", "--no-migrate"], env, tmp_path / "w1.log")
        second = RunningProcess(["serve", "outreach", "--role", "worker", "--no-migrate"], env, tmp_path / "w2.log")
        try:
            await o.deliver(client_event("cadena", "MX", zone, "es-MX", "MXN"), client="cadena")
            # A toll-free number places the debtor nowhere in particular: only the noon zone's hours apply.
            await o.deliver(await o.placed("K-1", client="cadena", phones=("+18005550100",)),
                            segmented("K-1", ("sms",)), client="cadena")
            first.start()

            async def provider_has_it() -> bool:
                assert first.exited() is None, first.log_tail()
                return fake.received.is_set()

            await eventually(provider_has_it, timeout_s=60, interval_s=0.05, message="the worker sent")
            first.kill()  # while Twilio holds its request: it has the message, the worker never heard back
            attempt = await attempt_row(o, "K-1")
            assert attempt["status"] == "sending" and attempt["provider_message_id"] is None
            fake.hold.set()
            fake.hold = None
            second.start()

            async def settled() -> dict[str, Any] | None:
                row = await attempt_row(o, "K-1")
                return row if row["status"] != "sending" else None

            attempt = await eventually(settled, timeout_s=60, message=f"reconciled\n{second.log_tail()}")
            assert len(fake.messages) == 1  # the provider got the message once
            assert attempt["status"] == "sent" and attempt["provider_message_id"] == fake.messages[0].sid
            # One decision, taken when it was claimed, allowing it; and the law allowed it when it went out.
            assert await decisions(o, attempt["id"]) == [(True, [])]
            assert decide_contact(ContactRequest("MX", zone, "sms", fake.messages[0].created, ("sms",),
                                                 rules=RULES["MX"])).allowed
            assert await kinds(o, attempt["id"]) == ["scheduled", "decision", "sending", "sent"]
            [(how,)] = await o.sql("SELECT detail->>'reconciled' FROM outreach.trail WHERE attempt_id = :a "
                                   "AND kind = 'sent'", a=attempt["id"])
            assert how == "provider look-up"
        finally:
            first.kill()
            second.stop()
            await http.aclose()
            await o.platform.db.dispose()


# A lease of a minute and a provider call of 10 s: a fresh claim's lease is judged by real time elapsed
# (sending/handlers.Claim), and a CI machine under load took long enough between a claim and its confirmation for a
# 10 s lease to lapse, or for the fake's answer to outlast a 2 s call (the message went, the attempt stayed
# `sending`). A test that expires a lease moves the clock past LEASE_S.
LEASE_S = 60


async def twilio_outreach(database_url: str, base_url: str, *, sending_timeout_s: float = LEASE_S,
                          provider_timeout_s: float = 10, **settings: Any) -> tuple[Outreach, Any]:
    return await make_outreach(database_url, providers={"sms": "twilio"}, twilio_base_url=base_url,
                               public_url="http://outreach.test", provider_timeout_s=provider_timeout_s,
                               sending_timeout_s=sending_timeout_s, **TWILIO, **settings)


@contextlib.asynccontextmanager
async def twilio_sms(database_url: str, fake: FakeTwilio) -> AsyncIterator[Outreach]:
    """Outreach sending SMS through `fake`, served here, whose status callbacks reach outreach's app in process."""
    async with serving(fake) as base_url:
        o, http = await twilio_outreach(database_url, base_url)
        fake.target = http._transport
        try:
            yield o
        finally:
            await http.aclose()
            await o.platform.db.dispose()


async def test_a_send_the_provider_never_got_is_decided_again_and_not_sent_once_the_window_closed(
        database_url: str) -> None:
    fake = FakeTwilio(callbacks=False)
    async with serving(fake) as base_url:
        o, http = await twilio_outreach(database_url, base_url)
        try:
            await o.deliver(await o.placed("C-1"), segmented("C-1", ("sms",)))
            o.clock.now = dt.datetime(2026, 3, 4, 23, 59, 55, tzinfo=dt.UTC)  # 18:59:55 in Bogotá: still open
            claimed, _ = await claim_due(o.platform.db, o.providers, o.settings, now=o.clock.now, limit=10)
            assert claimed == 1  # ... and the replica dies before it calls Twilio
            attempt = await attempt_row(o, "C-1")
            o.clock.now += dt.timedelta(seconds=LEASE_S + 1)  # the lease has expired: 19:00:56, the window has closed
            assert await o.reconcile() == 1
            assert (await attempt_row(o, "C-1"))["status"] == "scheduled"  # Twilio has no such message
            await o.tick()
            assert fake.messages == []  # decided again, at 19:00: outside hours
            assert await decisions(o, attempt["id"]) == [(True, []), (False, ["outside_hours"])]
            row = await attempt_row(o, "C-1")
            assert row["status"] == "scheduled"
            [(at,)] = await o.sql("SELECT scheduled_at FROM outreach.attempts WHERE id = :a", a=attempt["id"])
            assert at == dt.datetime(2026, 3, 5, 12, 0, tzinfo=dt.UTC)  # 07:00 the next morning
            o.clock.now = at
            await o.tick()
            assert len(fake.messages) == 1 and (await attempt_row(o, "C-1"))["status"] == "sent"
            assert await decisions(o, attempt["id"]) == [(True, []), (False, ["outside_hours"]), (True, [])]
            assert await kinds(o, attempt["id"]) == [
                "scheduled", "decision", "sending", "not_sent", "decision", "rescheduled", "decision", "sending",
                "sent"]
            [(contacts,)] = await o.sql("SELECT count(*) FROM outreach.contacts WHERE attempt_id = :a",
                                        a=attempt["id"])
            assert contacts == 1
        finally:
            await http.aclose()
            await o.platform.db.dispose()


async def test_a_lost_answer_is_confirmed_by_the_callback_that_names_its_attempt(database_url: str) -> None:
    # Twilio took the message but the answer is an error; its callbacks come once the sender has dealt with that
    # answer (the attempt in doubt), which is the case this test is about.
    fake = FakeTwilio(fail_after_create=500, callbacks_after=asyncio.Event())
    async with twilio_sms(database_url, fake) as o:
        await o.deliver(await o.placed("L-1"), segmented("L-1", ("sms",)))
        await o.tick()
        assert fake.callbacks_after is not None
        fake.callbacks_after.set()

        async def delivered() -> bool:
            return (await attempt_row(o, "L-1"))["status"] == "delivered"

        await eventually(delivered, timeout_s=20)
        attempt = await attempt_row(o, "L-1")
        assert attempt["provider_message_id"] == fake.messages[0].sid and len(fake.messages) == 1
        trail = await kinds(o, attempt["id"])
        assert trail[:2] == ["scheduled", "decision"] and "send_in_doubt" in trail and "send_retry" not in trail
        assert trail[-2:] == ["sent", "delivered"]
        o.clock.now += dt.timedelta(seconds=LEASE_S + 1)
        assert await o.reconcile() == 0  # nothing left in doubt
        await o.tick()
        assert len(fake.messages) == 1
        types = [r[0] for r in await o.sql("SELECT envelope->>'type' FROM outreach.outbox "
                                           "WHERE envelope->>'type' NOT IN ('contact.consents_recorded', 'client.ready') ORDER BY id")]
        assert types == ["contact.attempted", "contact.delivered"]


async def test_a_callback_that_beats_the_lost_answer_leaves_the_send_confirmed_not_in_doubt(database_url: str) -> None:
    # Twilio took the message and its status callbacks reach outreach before the create's answer, which is lost
    # (a 500): the attempt is `sent` by the callback that names it, and the sender's error must not put it in doubt.
    fake = FakeTwilio(fail_after_create=500, eager=True)
    async with twilio_sms(database_url, fake) as o:
        await o.deliver(await o.placed("E-1"), segmented("E-1", ("sms",)))
        await o.tick()
        attempt = await attempt_row(o, "E-1")
        assert attempt["status"] == "delivered" and attempt["provider_message_id"] == fake.messages[0].sid
        trail = await kinds(o, attempt["id"])
        assert trail == ["scheduled", "decision", "sending", "sent", "delivered"], trail
        o.clock.now += dt.timedelta(seconds=LEASE_S + 1)
        assert await o.reconcile() == 0  # nothing left in doubt
        await o.tick()
        assert len(fake.messages) == 1


class DropsAfterData:
    """An SMTP server that reads the whole message after DATA and hangs up without answering: the message may
    or may not have been queued."""

    def __init__(self) -> None:
        self.messages = 0

    async def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 mail.test ESMTP\r\n")
        while line := await reader.readline():
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                writer.write(b"250 mail.test\r\n")
            elif verb == b"DATA":
                writer.write(b"354 go ahead\r\n")
                await writer.drain()
                await reader.readuntil(b"\r\n.\r\n")
                self.messages += 1
                writer.close()
                return
            elif verb == b"QUIT":
                writer.write(b"221 bye\r\n")
            else:
                writer.write(b"250 ok\r\n")
            await writer.drain()


def sends(provider: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("recaudo_outreach_sends_total", {"provider": provider, "outcome": outcome}) or 0


async def test_an_email_whose_connection_dropped_after_data_is_unknown_for_an_operator_never_resent(
        database_url: str) -> None:
    smtp = DropsAfterData()
    port = free_port()
    server = await asyncio.start_server(smtp.session, "127.0.0.1", port)
    o, http = await make_outreach(database_url, providers={"email": "smtp"}, smtp_port=port,
                                  smtp_from="cobranza@agencia.example", provider_timeout_s=2, sending_timeout_s=10)
    try:
        unknown_before = sends("smtp", "reconciled_unknown")
        await o.deliver(await o.placed("U-1", channels=("email",)), segmented("U-1", ("email",)))
        await o.tick()
        attempt = await attempt_row(o, "U-1")
        assert attempt["status"] == "sending" and smtp.messages == 1  # in doubt: not retried
        o.clock.now += dt.timedelta(seconds=11)
        assert await o.reconcile() == 1
        attempt = await attempt_row(o, "U-1")
        assert attempt["status"] == "unknown"
        assert attempt["provider_message_id"] == f"{attempt['id']}@agencia.example"
        o.clock.now += dt.timedelta(days=1)
        await o.tick()
        await o.reconcile()
        assert smtp.messages == 1 and (await attempt_row(o, "U-1"))["status"] == "unknown"
        listed = await http.get("/v1/clients/banco/unknown-sends", headers=o.auth)
        assert listed.status_code == 200, listed.text
        [item] = listed.json()["items"]
        assert (item["attempt_id"], item["account_ref"], item["provider"]) == (str(attempt["id"]), "U-1", "smtp")
        assert item["provider_message_id"] == f"{attempt['id']}@agencia.example" and "Message-ID" in item["reason"]
        history = (await http.get("/v1/clients/banco/accounts/U-1/contacts", headers=o.auth)).json()
        assert history["items"][0]["status"] == "unknown"
        assert [t["kind"] for t in history["trail"] if t["attempt_id"] == str(attempt["id"])][-2:] == [
            "send_in_doubt", "unknown"]
        assert sends("smtp", "reconciled_unknown") == unknown_before + 1
        other = (await http.get("/v1/clients/otra/unknown-sends",
                                headers={"Authorization": f"Bearer {o.client_key}"}))
        assert other.status_code in (403, 404)  # a client key sees only its own company
    finally:
        server.close()
        await http.aclose()
        await o.platform.db.dispose()


async def test_a_replica_whose_lease_expired_can_neither_send_nor_confirm(database_url: str) -> None:
    fake = FakeTwilio(callbacks=False)
    async with serving(fake) as base_url:
        o, http = await twilio_outreach(database_url, base_url)
        try:
            await o.deliver(await o.placed("F-1"), segmented("F-1", ("sms",)))
            _, stale = await claim_due(o.platform.db, o.providers, o.settings, now=o.clock.now, limit=10)
            attempt = await attempt_row(o, "F-1")
            o.clock.now += dt.timedelta(seconds=LEASE_S + 1)  # the first replica stalled past its lease
            assert await o.reconcile() == 1  # another replica fenced it off: Twilio has nothing, back to due
            # The stalled replica wakes up: it may not call Twilio (its lease is gone) ...
            await send_claimed(o.platform.db, o.providers, o.settings, stale, now=o.clock.now)
            assert fake.messages == []
            # ... nor confirm what it believes it sent.
            await record_answers(o.platform.db, o.providers, o.settings, stale,
                                 [(stale.items[0], Sent("SM-stale"))], now=o.clock.now)
            row = await attempt_row(o, "F-1")
            assert (row["status"], row["provider_message_id"]) == ("scheduled", None)
            await o.tick()  # the attempt goes out once, through a fresh claim and decision
            assert len(fake.messages) == 1 and (await attempt_row(o, "F-1"))["status"] == "sent"
            assert [allowed for allowed, _ in await decisions(o, attempt["id"])] == [True, True]
        finally:
            await http.aclose()
            await o.platform.db.dispose()


async def test_two_replicas_reconciling_the_same_sends_take_each_once(database_url: str) -> None:
    o, http = await make_outreach(database_url, sandbox_delivery_rate=1.0, provider_timeout_s=2, sending_timeout_s=10)
    try:
        refs = [f"R-{i}" for i in range(30)]
        await o.deliver(*[await o.placed(r, debtor=f"7{i:04d}") for i, r in enumerate(refs)],
                        *[segmented(r) for r in refs])
        _, claim = await claim_due(o.platform.db, o.providers, o.settings, now=o.clock.now, limit=100)
        half = claim.items[:15]
        claim.items = half  # the replica dies after the sandbox took half the batch
        await o.providers.sandbox.send([i.message for i in half], o.clock.now)
        o.clock.now += dt.timedelta(seconds=11)
        taken = await asyncio.gather(*[reconcile_expired(o.platform.db, o.providers, o.settings, now=o.clock.now,
                                                         limit=7) for _ in range(4)])
        while more := await o.reconcile():
            taken.append(more)
        assert sum(taken) == 30
        statuses = dict(await o.sql("SELECT status, count(*) FROM outreach.attempts WHERE sequence = 1 "
                                    "GROUP BY status"))
        assert statuses == {"delivered": 15, "scheduled": 15}  # found at the sandbox; never handed over
        [(reconciled, distinct)] = await o.sql(
            "SELECT count(*), count(DISTINCT attempt_id) FROM outreach.trail WHERE kind IN ('not_sent', 'sent')")
        assert reconciled == distinct == 30
        await o.tick()
        [(messages, distinct)] = await o.sql("SELECT count(*), count(DISTINCT attempt_id) "
                                             "FROM outreach.sandbox_messages")
        assert messages == distinct == 30
        [(attempted,)] = await o.sql("SELECT count(*) FROM outreach.outbox WHERE envelope->>'type' = "
                                     "'contact.attempted'")
        assert attempted == 30
    finally:
        await http.aclose()
        await o.platform.db.dispose()


async def test_paused_sending_holds_back_the_reconciliation_too(database_url: str) -> None:
    o, http = await make_outreach(database_url, provider_timeout_s=2, sending_timeout_s=10)
    try:
        await o.deliver(await o.placed("P-1"), segmented("P-1", ("sms",)))
        await claim_due(o.platform.db, o.providers, o.settings, now=o.clock.now, limit=10)
        o.clock.now += dt.timedelta(seconds=11)
        o.settings.sending_paused = True
        assert await o.reconcile() == 0 and await o.tick() == 0
        assert (await attempt_row(o, "P-1"))["status"] == "sending"
        o.settings.sending_paused = False
        assert await o.reconcile() == 1
        await o.tick()
        assert await o.sql("SELECT count(*) FROM outreach.sandbox_messages") == [(1,)]
    finally:
        await http.aclose()
        await o.platform.db.dispose()


async def test_a_message_whose_hours_end_before_its_provider_is_called_is_not_sent(outreach: Outreach) -> None:
    import zoneinfo

    bogota = zoneinfo.ZoneInfo("America/Bogota")
    outreach.clock.now = dt.datetime(2026, 3, 4, 18, 59, 30, tzinfo=bogota)  # a Wednesday, Colombia's close at 19
    await outreach.deliver(await outreach.placed("H-1"), segmented("H-1", ("sms",)))
    _, claim = await claim_due(outreach.platform.db, outreach.providers, outreach.settings, now=outreach.clock.now,
                               limit=10)
    [item] = claim.items
    assert item.open_until == dt.datetime(2026, 3, 4, 19, 0, tzinfo=bogota)
    # The claim's earlier messages took the provider a minute: this one's hours are over when its turn comes.
    await send_claimed(outreach.platform.db, outreach.providers, outreach.settings, claim,
                       now=outreach.clock.now + dt.timedelta(minutes=1))
    assert await outreach.sql("SELECT count(*) FROM outreach.sandbox_messages") == [(0,)]
    assert await outreach.sql("SELECT status, sent_at, tries FROM outreach.attempts WHERE account_ref = 'H-1' "
                              "AND sequence = 1") == [("scheduled", None, 0)]  # no try used: nothing was called
    [(reason,)] = await outreach.sql("SELECT detail->>'reason' FROM outreach.trail WHERE account_ref = 'H-1' "
                                     "AND kind = 'not_sent'")
    assert "window closed" in reason
    assert await outreach.sql("SELECT count(*) FROM outreach.contacts") == [(0,)]  # it no longer counts
    # Decided again, the law moves it to the next morning's window.
    outreach.clock.now += dt.timedelta(minutes=2)
    await outreach.tick()
    [(scheduled_at,)] = await outreach.sql("SELECT scheduled_at FROM outreach.attempts WHERE account_ref = 'H-1' "
                                           "AND sequence = 1")
    assert scheduled_at == dt.datetime(2026, 3, 5, 7, 0, tzinfo=bogota)
