"""The bounce receiver end to end on a real PostgreSQL: outreach's SMTP provider sends to a local mail server
(aiosmtpd) with the bounce address as its envelope sender; a delivery status notification (RFC 3464) delivered
by a real smtplib client to the receiver, as a mail server that gave up would, fails the attempt and takes a dead
address off for good, once; delayed, foreign and transient reports change what they should and no more; and the
receiver holds to its limits against hostile clients (other recipients, oversize, garbage, nesting, floods)."""

import asyncio
import datetime as dt
import smtplib
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from prometheus_client import REGISTRY

from outreach.main import build
from outreach.settings import OutreachSettings
from outreach.unsubscribe.receiver import BounceReceiver
from recaudo_common.local_ports import free_port
from recaudo_common.testing import eventually

from .conftest import MailSink, Outreach, make_outreach, segmented

pytestmark = pytest.mark.integration

BOUNCE = "rebotes@agencia.example"
METRIC = "recaudo_outreach_bounces_total"


@dataclass
class Running:
    o: Outreach
    receiver: BounceReceiver
    port: int


def receivers(settings: OutreachSettings, o: Outreach) -> list[BounceReceiver]:
    """The bounce receivers main.build wires among the unit's workers."""
    unit = build(o.platform, settings)
    return [w.__self__ for w in unit.workers if isinstance(getattr(w, "__self__", None), BounceReceiver)]


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
async def running(database_url: str, mail_server: MailSink) -> AsyncIterator[Running]:
    port = free_port()
    o, _ = await make_outreach(database_url, providers={"email": "smtp", "sms": "sandbox"}, smtp_port=mail_server.port,
                               smtp_from="cobranza@agencia.example", smtp_bounce_addresses=[BOUNCE],
                               smtp_bounce_port=port, smtp_bounce_max_bytes=200_000, smtp_bounce_max_sessions=3,
                               smtp_bounce_max_sessions_per_peer=2)
    [receiver] = receivers(o.settings, o)
    stop = asyncio.Event()
    task = asyncio.create_task(receiver.run(stop))
    await eventually(lambda: asyncio.to_thread(accepts, port), timeout_s=10, message="the receiver listening")
    try:
        yield Running(o, receiver, port)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await o.http.aclose()
        await o.platform.db.dispose()


def dsn(returned_headers: bytes, recipient: str = "deudor@example.com", action: str = "failed",
        status: str = "5.1.1") -> bytes:
    """A Postfix-shaped delivery status notification returning a message's headers (RFC 3464 section 2)."""
    b = b"8B0F31A0E01.1764770000/mail.example.com"
    return (b"From: MAILER-DAEMON@mail.example.com (Mail Delivery System)\r\nTo: " + BOUNCE.encode() + b"\r\n"
            b"Subject: Undelivered Mail Returned to Sender\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary="' + b + b'"\r\n\r\n'
            b"--" + b + b"\r\nContent-Description: Notification\r\nContent-Type: text/plain; charset=us-ascii\r\n"
            b"\r\nI'm sorry to have to inform you that your message could not\r\nbe delivered.\r\n\r\n"
            b"--" + b + b"\r\nContent-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n"
            b"Reporting-MTA: dns; mail.example.com\r\nX-Postfix-Queue-ID: 8B0F31A0E01\r\n\r\n"
            b"Final-Recipient: rfc822; " + recipient.encode() + b"\r\nAction: " + action.encode() + b"\r\n"
            b"Status: " + status.encode() + b"\r\nRemote-MTA: dns; mx.example.com\r\n"
            b"Diagnostic-Code: smtp; 550 5.1.1 <" + recipient.encode() + b">: User unknown\r\n\r\n"
            b"--" + b + b"\r\nContent-Description: Undelivered Message Headers\r\n"
            b"Content-Type: text/rfc822-headers\r\n\r\n" + returned_headers + b"\r\n\r\n--" + b + b"--\r\n")


def deliver(port: int, raw: bytes, *, to: str = BOUNCE) -> tuple[int, str]:
    """What a mail server that gave up does: a DSN from the null sender (RFC 3464 section 2, RFC 5321 4.5.5)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo("mail.example.com")
        code, _ = client.mail("<>")
        assert code == 250
        code, reply = client.rcpt(to)
        if code != 250:
            return code, reply.decode()
        code, reply = client.data(raw)
        return code, reply.decode()


def counted(outcome: str) -> float:
    return REGISTRY.get_sample_value(METRIC, {"outcome": outcome}) or 0.0


async def sent(o: Outreach, ref: str, mail_server: MailSink) -> tuple[uuid.UUID, bytes]:
    """The attempt sent for `ref` and the headers of the message as the mail server received it."""
    await o.deliver(await o.placed(ref, channels=("email",)), segmented(ref, ("email",)))
    assert await o.tick() == 1
    raw = mail_server.received[-1].raw
    assert mail_server.received[-1].mail_from == BOUNCE  # the envelope sender (Return-Path) is the bounce address, not the From
    [(attempt_id,)] = await o.sql("SELECT id FROM outreach.attempts WHERE account_ref = :r AND status = 'sent'", r=ref)
    return attempt_id, raw.split(b"\r\n\r\n")[0]


async def history(o: Outreach, ref: str) -> dict[str, Any]:
    answer = await o.http.get(f"/v1/clients/banco/accounts/{ref}/contacts", headers=o.auth)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def test_a_bounce_fails_the_attempt_and_the_dead_address_is_never_used_again_once(
        running: Running, mail_server: MailSink) -> None:
    o = running.o
    attempt_id, headers = await sent(o, "B-1", mail_server)
    applied, duplicate = counted("applied"), counted("duplicate")

    code, reply = await asyncio.to_thread(deliver, running.port, dsn(headers))
    assert (code, reply) == (250, "2.6.0 Delivery status notification received")
    found = await history(o, "B-1")
    [attempt] = [a for a in found["items"] if a["id"] == str(attempt_id)]
    assert (attempt["status"], attempt["failure"]) == ("failed", "bounced: 5.1.1")
    kinds = [t["kind"] for t in found["trail"]]
    assert kinds.count("contact_point_invalid") == 1 and "failed" in kinds
    assert all("deudor" not in str(t["detail"]) for t in found["trail"])
    assert await o.sql("SELECT point FROM outreach.invalid_contact_points") == [("deudor@example.com",)]
    assert await o.sql("SELECT email FROM outreach.accounts WHERE account_ref = 'B-1'") == [(None,)]
    assert counted("applied") == applied + 1

    # The same report again (the server retried, or sent two): taken, nothing more changes.
    assert (await asyncio.to_thread(deliver, running.port, dsn(headers)))[0] == 250
    again = await history(o, "B-1")
    assert again["items"] == found["items"] and len(again["trail"]) == len(found["trail"])
    assert counted("duplicate") == duplicate + 1

    # The next file brings the address again and the next plan asks for e-mail: it is not used.
    o.clock.now += dt.timedelta(days=1)
    await o.deliver(await o.placed("B-1", channels=("email",)))
    assert await o.sql("SELECT email FROM outreach.accounts WHERE account_ref = 'B-1'") == [(None,)]
    await o.deliver(segmented("B-1", ("email",)))
    assert ("email", "scheduled") not in await o.attempts("B-1")
    # The same treatment keeps its plan (planning.store.SAME_PLAN), whose e-mails to come are cancelled, saying why.
    assert await o.sql("SELECT DISTINCT cancel_reason FROM outreach.attempts WHERE account_ref = 'B-1' "
                       "AND status = 'cancelled'") == [("no contact data on file",)]


async def test_delayed_transient_and_foreign_reports_change_only_what_they_say(
        running: Running, mail_server: MailSink) -> None:
    o = running.o
    attempt_id, headers = await sent(o, "B-2", mail_server)
    not_failed, not_ours = counted("not_failed"), counted("not_ours")

    # Still trying (Action: delayed): the attempt stays sent.
    assert (await asyncio.to_thread(deliver, running.port, dsn(headers, action="delayed", status="4.4.1")))[0] == 250
    # A report for a message we never sent: nothing anywhere.
    foreign = headers.replace(str(attempt_id).encode(), str(uuid.uuid4()).encode())
    assert (await asyncio.to_thread(deliver, running.port, dsn(foreign)))[0] == 250
    assert await o.sql("SELECT status FROM outreach.attempts WHERE id = :a", a=attempt_id) == [("sent",)]
    assert (counted("not_failed"), counted("not_ours")) == (not_failed + 1, not_ours + 1)

    # Given up after the queue lifetime (failed, 4.4.7): the message failed, the address is not at fault.
    assert (await asyncio.to_thread(deliver, running.port, dsn(headers, status="4.4.7")))[0] == 250
    [attempt] = [a for a in (await history(o, "B-2"))["items"] if a["id"] == str(attempt_id)]
    assert (attempt["status"], attempt["failure"]) == ("failed", "bounced: 4.4.7")
    assert await o.sql("SELECT email FROM outreach.accounts WHERE account_ref = 'B-2'") == [("deudor@example.com",)]
    assert await o.sql("SELECT 1 FROM outreach.invalid_contact_points") == []
    assert await o.sql("SELECT 1 FROM outreach.trail WHERE kind = 'contact_point_invalid'") == []


def session(port: int, source: str = "127.0.0.1") -> smtplib.SMTP:
    """A client from `source` (any 127.x.y.z reaches the receiver on 127.0.0.1: one host, several peers)."""
    client = smtplib.SMTP("127.0.0.1", port, timeout=10, source_address=(source, 0))
    client.ehlo("mail.example.com")
    return client


def hostile(port: int) -> dict[str, Any]:
    """Everything a hostile or broken client tries, and the replies it got."""
    out: dict[str, Any] = {}
    with session(port) as client:
        client.mail("<>")
        out["other recipient"] = client.rcpt("deudor@example.com")
        out["open relay"] = client.rcpt("alguien@otro.example")
        client.rset()
        client.mail("<>")
        client.rcpt(BOUNCE)
        out["too big"] = client.data(b"Subject: x\r\n\r\n" + (b"b" * 900 + b"\r\n") * 300)
        client.rset()
        out["size declared"] = client.mail("<>", ["SIZE=5000000"])
        client.rset()
        client.mail("<>")
        client.rcpt(BOUNCE)
        out["not a report"] = client.data(b"From: deudor@example.com\r\nSubject: Fuera de la oficina\r\n\r\n"
                                          b"Estoy de vacaciones.\r\n")
        client.mail("<>")
        client.rcpt(BOUNCE)
        nested = (b"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; "
                  b"boundary=b0\r\n\r\n")
        for depth in range(2500):
            nested += b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (depth, depth + 1)
        out["nested"] = client.data(nested)
        client.mail("<>")
        client.rcpt(BOUNCE)
        out["line too long"] = client.data(b"Subject: x\r\n\r\n" + b"c" * 5000 + b"\r\n")
        out["still talking"] = client.noop()
    # Raw garbage, a header line past any limit, then the connection dropped mid-DATA.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.recv(1024)
        raw.sendall(b"\x00\xff\xfe garbage\r\n" + b"EHLO " + b"x" * 4000 + b"\r\nMAIL FROM:<>\r\nRCPT TO:<"
                    + BOUNCE.encode() + b">\r\nDATA\r\nX-Huge: " + b"h" * 100_000 + b"\r\n")
    return out


def flood(port: int) -> tuple[int, bytes | str]:
    """More clients at once than the cap (3), from three addresses within their share (2): the last is told to
    come back."""
    clients = [session(port, "127.0.0.1"), session(port, "127.0.0.1"), session(port, "127.0.0.2")]
    try:
        with pytest.raises(smtplib.SMTPConnectError) as busy:
            smtplib.SMTP("127.0.0.1", port, timeout=10, source_address=("127.0.0.3", 0))
        return busy.value.smtp_code, busy.value.smtp_error
    finally:
        for c in clients:
            c.quit()


def one_peer_floods(port: int) -> tuple[tuple[int, bytes | str], int]:
    """One address opens more sessions than its share (2): it is told to come back, and another address is still
    served beside it."""
    clients = [session(port, "127.0.0.4"), session(port, "127.0.0.4")]
    try:
        with pytest.raises(smtplib.SMTPConnectError) as busy:
            smtplib.SMTP("127.0.0.1", port, timeout=10, source_address=("127.0.0.4", 0))
        with session(port, "127.0.0.5") as other:
            served = other.noop()[0]
        return (busy.value.smtp_code, busy.value.smtp_error), served
    finally:
        for c in clients:
            c.quit()


async def test_hostile_clients_get_clear_refusals_and_the_receiver_keeps_working(
        running: Running, mail_server: MailSink, caplog: pytest.LogCaptureFixture) -> None:
    o = running.o
    caplog.set_level("DEBUG")
    before = {k: counted(k) for k in ("recipient_refused", "too_big", "not_a_report", "unreadable", "busy",
                                      "peer_busy")}
    idle = running.receiver

    async def all_closed() -> bool:
        return idle.sessions == 0 and not idle.by_peer  # every address forgotten once its sessions end

    out = await asyncio.to_thread(hostile, running.port)
    await eventually(all_closed, timeout_s=10, message="the hostile sessions closed")
    out["busy"] = await asyncio.to_thread(flood, running.port)
    await eventually(all_closed, timeout_s=10, message="the flood's sessions closed")
    out["peer busy"], out["another peer served"] = await asyncio.to_thread(one_peer_floods, running.port)
    await eventually(all_closed, timeout_s=10, message="the one peer's sessions closed")
    assert out["other recipient"] == (550, b"5.1.1 Recipient address rejected: not a bounce address of this service")
    assert out["open relay"][0] == 550
    assert out["too big"] == (552, b"5.3.4 Message too big for this mailbox")
    assert out["size declared"] == (552, b"5.3.4 Message too big for this mailbox")
    assert out["not a report"] == (250, b"2.6.0 Not a delivery status notification: accepted and discarded")
    assert out["nested"] == (554, b"5.6.0 Message could not be read")
    assert out["line too long"][0] == 500 and out["still talking"][0] == 250
    assert out["busy"] == (421, b"4.3.2 Too many connections, try again later")
    assert out["peer busy"] == (421, b"4.7.0 Too many connections from your address, try again later")
    assert out["another peer served"] == 250
    after = {k: counted(k) for k in before}
    assert after == {"recipient_refused": before["recipient_refused"] + 2, "too_big": before["too_big"] + 2,
                     "not_a_report": before["not_a_report"] + 1, "unreadable": before["unreadable"] + 1,
                     "busy": before["busy"] + 1, "peer_busy": before["peer_busy"] + 1}

    # Still serving: a real bounce after all that is applied.
    attempt_id, headers = await sent(o, "B-3", mail_server)
    assert (await asyncio.to_thread(deliver, running.port, dsn(headers)))[0] == 250
    assert await o.sql("SELECT status FROM outreach.attempts WHERE id = :a", a=attempt_id) == [("failed",)]

    # The metric's only label is the outcome; no log line names an address.
    for family in REGISTRY.collect():
        if family.name == METRIC.removesuffix("_total"):
            assert {tuple(s.labels) for s in family.samples} <= {("outcome",)}
            assert all("@" not in v for s in family.samples for v in s.labels.values())
    assert all("deudor" not in r.getMessage() and "@" not in r.getMessage() for r in caplog.records
               if r.name.startswith(("recaudo.outreach.bounces", "mail.log")))


async def test_the_receiver_is_off_by_default_and_runs_with_the_service(database_url: str) -> None:
    o, http = await make_outreach(database_url)
    try:
        assert receivers(o.settings, o) == []
        assert o.settings.envelope_sender == o.settings.smtp_from
        port = free_port()
        half = OutreachSettings(smtp_bounce_port=port)  # a port without its address: off, and production says so
        assert receivers(half, o) == []
        assert any("bounce" in p.problem for p in half.production_problems())
        on = OutreachSettings(smtp_bounce_port=port, smtp_bounce_addresses=[" Rebotes@Agencia.example "])
        assert on.envelope_sender == BOUNCE
        [receiver] = receivers(on, o)
        stop = asyncio.Event()
        task = asyncio.create_task(receiver.run(stop))
        await eventually(lambda: asyncio.to_thread(accepts, port), timeout_s=10, message="listening")
        with_client = await asyncio.to_thread(session, port)  # a session in progress when the service stops
        stop.set()
        await asyncio.wait_for(task, 10)
        assert not await asyncio.to_thread(accepts, port)
        with pytest.raises((smtplib.SMTPServerDisconnected, OSError)):
            await asyncio.to_thread(with_client.noop)
    finally:
        await http.aclose()
        await o.platform.db.dispose()
