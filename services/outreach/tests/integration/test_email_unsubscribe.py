"""E-mail end to end against a real local SMTP server (aiosmtpd): the message as received carries RFC 8058's
one-click unsubscribe fields byte for byte and a DKIM signature that verifies; the one-click POST opts the debtor
out of e-mail (the compliance check then answers opted_out), a tampered link is a 404 that records nothing; a
recipient refused with 550 5.1.1 at RCPT TO fails the attempt and that address is never planned again; a delivery
status notification that comes later does the same for the message it returns."""

import base64
import datetime as dt
import uuid
from typing import Any

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from outreach.domain.unsubscribe import unsubscribe_token
from outreach.unsubscribe.bounces import bounce_received
from recaudo_common.events import AccountRecalled, DebtorErasureRequested

from .conftest import MailSink, Outreach, make_outreach, segmented

pytestmark = pytest.mark.integration

PUBLIC_URL = "https://cobro.agencia.example"
QUESTION = "¿Desea dejar de recibir correos de cobranza de Banco Andino?"


def key_pair() -> tuple[str, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


async def emailing(database_url: str, port: int, **settings: Any) -> Outreach:
    o, _ = await make_outreach(database_url, providers={"email": "smtp", "sms": "sandbox"}, smtp_port=port,
                               smtp_from="cobranza@agencia.example", public_url=PUBLIC_URL, **settings)
    return o


async def close(o: Outreach) -> None:
    await o.http.aclose()
    await o.platform.db.dispose()


async def compliance(o: Outreach, ref: str, channel: str) -> dict[str, Any]:
    answer = await o.http.post("/v1/compliance/check", headers=o.auth, json={
        "client": "banco", "account_ref": ref, "channel": channel, "at": o.clock.now.isoformat()})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def test_the_message_received_carries_the_one_click_fields_and_a_dkim_signature_that_verifies(
        database_url: str, mail_server: MailSink) -> None:
    private, record = key_pair()
    o = await emailing(database_url, mail_server.port, smtp_dkim_selector="recaudo",
                       smtp_dkim_domain="agencia.example", smtp_dkim_private_key=private)
    try:
        await o.deliver(await o.placed("E-1", channels=("email",)), segmented("E-1", ("email",)))
        assert await o.tick() == 1
        [raw] = [mail.raw for mail in mail_server.received]
        [(attempt_id,)] = await o.sql("SELECT id FROM outreach.attempts WHERE status = 'sent'")
        token = unsubscribe_token(attempt_id, "email", o.settings.link_secret)
        headers = raw.split(b"\r\n\r\n")[0]
        assert f"\r\nList-Unsubscribe: <{PUBLIC_URL}/u/{token}>\r\n".encode() in headers
        assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in headers
        assert headers.count(b"List-Unsubscribe:") == 1 and b"deudor" not in headers.split(b"\r\nTo:")[0]
        assert raw.startswith(b"DKIM-Signature: ")
        assert dkim.verify(raw, dnsfunc=lambda name, timeout=5: record)
        assert b"list-unsubscribe-post" in headers.split(b"\r\nFrom:")[0].replace(b"\r\n ", b"")
    finally:
        await close(o)


async def test_one_click_opts_the_debtor_out_of_email_at_once_and_again_changes_nothing(
        database_url: str, mail_server: MailSink) -> None:
    o = await emailing(database_url, mail_server.port)
    try:
        await o.deliver(await o.placed("E-2", channels=("email", "sms")), segmented("E-2", ("email",)))
        assert await o.tick() == 1
        [(attempt_id,)] = await o.sql("SELECT id FROM outreach.attempts WHERE status = 'sent'")
        link = f"/u/{unsubscribe_token(attempt_id, 'email', o.settings.link_secret)}"
        assert "opted_out" not in (await compliance(o, "E-2", "email"))["reasons"]

        page = await o.http.get(link, headers={"accept": "text/html"})
        assert page.status_code == 200 and QUESTION in page.text and f'action="{link}"' in page.text
        assert await o.sql("SELECT 1 FROM outreach.opt_outs") == []  # a GET (a link scanner) changes nothing

        # RFC 8058 section 3.2: what a mail client sends, form-encoded, with no cookie and no authorization.
        answer = await o.http.post(link, content=b"List-Unsubscribe=One-Click",
                                   headers={"content-type": "application/x-www-form-urlencoded"})
        assert answer.status_code == 200, answer.text
        assert "No le enviaremos más correos de cobranza de Banco Andino" in answer.text
        check = await compliance(o, "E-2", "email")
        assert check["allowed"] is False and "opted_out" in check["reasons"]
        assert "opted_out" not in (await compliance(o, "E-2", "sms"))["reasons"]
        evidence = await o.sql("SELECT channel, what, source, evidence FROM outreach.consent_evidence "
                               "WHERE account_ref = 'E-2' AND what = 'withdrawn'")
        assert [tuple(e) for e in evidence] == [("email", "withdrawn", "unsubscribe", attempt_id)]

        # The same again (a second click, a client retrying, multipart this time): 200, nothing more recorded.
        again = await o.http.post(link, files={"List-Unsubscribe": (None, "One-Click")})
        assert again.status_code == 200
        trail = await o.sql("SELECT kind, detail::text FROM outreach.trail WHERE kind = 'opted_out'")
        assert len(trail) == 1 and "unsubscribe" in trail[0][1] and "@" not in trail[0][1]
        assert len(await o.sql("SELECT 1 FROM outreach.consent_evidence WHERE source = 'unsubscribe'")) == 1
    finally:
        await close(o)


async def test_a_tampered_or_foreign_link_is_a_404_in_spanish_and_records_nothing(
        database_url: str, mail_server: MailSink) -> None:
    o = await emailing(database_url, mail_server.port)
    try:
        await o.deliver(await o.placed("E-3", channels=("email",)), segmented("E-3", ("email",)))
        assert await o.tick() == 1
        [(attempt_id,)] = await o.sql("SELECT id FROM outreach.attempts WHERE status = 'sent'")
        token = unsubscribe_token(attempt_id, "email", o.settings.link_secret)
        channel, attempt, signature = token.split(".")
        forged = [f"{channel}.{attempt}.{('A' if signature[0] != 'A' else 'B') + signature[1:]}",
                  unsubscribe_token(attempt_id, "email", "not-the-platforms-secret"),
                  unsubscribe_token(uuid.uuid4(), "email", o.settings.link_secret),  # signed, no such attempt
                  f"sms.{attempt}.{signature}", "nada", "a.b.c.d", "email.%C3%A9%C3%A9.%E2%80%AE",
                  "YmFuY28.RS0z.4102444800.AAAAAAAAAAAAAAAAAAAAAAAA"]
        browser = {"accept": "text/html,application/xhtml+xml"}
        for bad in forged:
            for answer in (await o.http.get(f"/u/{bad}", headers=browser),
                           await o.http.post(f"/u/{bad}", data={"List-Unsubscribe": "One-Click"}, headers=browser)):
                assert answer.status_code == 404 and "Este enlace no es válido" in answer.text, bad
                assert answer.headers["content-type"].startswith("text/html")
            # A mail client (no Accept: text/html) gets problem details.
            problem = await o.http.post(f"/u/{bad}", data={"List-Unsubscribe": "One-Click"})
            assert problem.status_code == 404 and problem.json()["code"] == "invalid_link"
        for body in (b"", b"List-Unsubscribe=Yes", b"unsubscribe=1"):  # not a one-click body
            refused = await o.http.post(f"/u/{token}", content=body,
                                        headers={"content-type": "application/x-www-form-urlencoded"})
            assert refused.status_code == 400 and refused.json()["code"] == "not_one_click"
        assert await o.sql("SELECT 1 FROM outreach.opt_outs") == []
        assert await o.sql("SELECT 1 FROM outreach.consent_evidence WHERE what = 'withdrawn'") == []
        assert "opted_out" not in (await compliance(o, "E-3", "email"))["reasons"]
    finally:
        await close(o)


async def test_a_550_at_rcpt_fails_the_attempt_and_the_address_is_never_used_again(
        database_url: str, mail_server: MailSink) -> None:
    mail_server.dead.add("deudor@example.com")
    o = await emailing(database_url, mail_server.port)
    try:
        await o.deliver(await o.placed("E-4", channels=("email", "sms")), segmented("E-4", ("email",)))
        assert await o.tick() == 1
        assert mail_server.received == []
        [(status, failure)] = await o.sql("SELECT status, failure FROM outreach.attempts WHERE account_ref = 'E-4' "
                                         "AND sequence = 1")
        assert status == "failed" and failure.startswith("recipient refused by the mail server: 550 5.1.1")
        assert "deudor" not in failure
        assert await o.sql("SELECT email FROM outreach.accounts WHERE account_ref = 'E-4'") == [(None,)]
        trail = await o.sql("SELECT detail::text FROM outreach.trail WHERE kind = 'contact_point_invalid'")
        assert len(trail) == 1 and "deudor" not in trail[0][0]

        # The client's next file brings the same address again, and the next plan asks for e-mail: not used.
        o.clock.now += dt.timedelta(days=1)
        await o.deliver(await o.placed("E-4", channels=("email", "sms")))
        assert await o.sql("SELECT email FROM outreach.accounts WHERE account_ref = 'E-4'") == [(None,)]
        await o.deliver(segmented("E-4", ("email", "sms")))
        assert ("email", "scheduled") not in await o.attempts("E-4")
        # Another account of the client with the same dead address: not used either; a new address is.
        await o.deliver(await o.placed("E-5", channels=("email",), debtor="99887766"))
        await o.deliver(await o.placed("E-6", channels=("email",), debtor="55443322", email="otra@example.com"))
        rows = await o.sql("SELECT account_ref, email FROM outreach.accounts WHERE account_ref IN ('E-5', 'E-6') "
                           "ORDER BY account_ref")
        assert [tuple(r) for r in rows] == [("E-5", None), ("E-6", "otra@example.com")]
    finally:
        await close(o)


async def test_an_erasure_removes_the_refused_address_with_the_person(database_url: str, mail_server: MailSink) -> None:
    mail_server.dead.add("deudor@example.com")
    o = await emailing(database_url, mail_server.port)
    try:
        placed = await o.placed("E-7", channels=("email",), debtor="70707070")
        await o.deliver(placed, segmented("E-7", ("email",)))
        assert await o.tick() == 1
        assert await o.sql("SELECT point, debtor_id FROM outreach.invalid_contact_points") == [
            ("deudor@example.com", "70707070")]
        await o.deliver(AccountRecalled(account_ref="E-7", recalled_at=o.clock.now))
        assert placed.debtor_ref is not None
        await o.deliver(DebtorErasureRequested(erasure_id=uuid.uuid4(), debtor_ref=placed.debtor_ref,
                                               account_refs=["E-7"], reason="request", requested_at=o.clock.now))
        assert await o.sql("SELECT 1 FROM outreach.invalid_contact_points") == []
    finally:
        await close(o)


def dsn(message_id: str, recipient: str, action: str = "failed", status: str = "5.1.1") -> bytes:
    """A delivery status notification as RFC 3464 lays it out, returning the message's headers."""
    boundary = "RAA14128.773615765/mx.example.org"
    return (f"From: MAILER-DAEMON@mx.example.org\r\nTo: cobranza@agencia.example\r\nMIME-Version: 1.0\r\n"
            f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n\r\n'
            f"--{boundary}\r\nContent-Type: text/plain\r\n\r\nNo se pudo entregar.\r\n\r\n"
            f"--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n"
            f"\r\nFinal-Recipient: rfc822; {recipient}\r\nAction: {action}\r\nStatus: {status}\r\n\r\n"
            f"--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{message_id}>\r\n"
            f"Subject: Saldo\r\n\r\n--{boundary}--\r\n").encode()


async def test_a_later_bounce_fails_the_sent_attempt_and_marks_the_address_once(
        database_url: str, mail_server: MailSink) -> None:
    o = await emailing(database_url, mail_server.port)
    try:
        await o.deliver(await o.placed("E-8", channels=("email",)), segmented("E-8", ("email",)))
        assert await o.tick() == 1
        [(attempt_id, message_id)] = await o.sql(
            "SELECT id, provider_message_id FROM outreach.attempts WHERE status = 'sent'")
        # Not ours, only delayed, or naming no address of ours as dead: nothing changes.
        assert (await bounce_received(o.platform.db, dsn("otro@mx.example", "deudor@example.com"),
                                      now=o.clock.now)).attempt_id is None
        assert (await bounce_received(o.platform.db, dsn(message_id, "deudor@example.com", "delayed", "4.4.7"),
                                      now=o.clock.now)).attempt_id is None
        assert await o.sql("SELECT status FROM outreach.attempts WHERE id = :a", a=attempt_id) == [("sent",)]

        bounce = await bounce_received(o.platform.db, dsn(message_id, "Deudor@Example.com"), now=o.clock.now)
        assert (bounce.attempt_id, bounce.failed, bounce.address_invalid) == (attempt_id, True, True)
        assert await o.sql("SELECT status FROM outreach.attempts WHERE id = :a", a=attempt_id) == [("failed",)]
        assert await o.sql("SELECT email FROM outreach.accounts WHERE account_ref = 'E-8'") == [(None,)]
        assert await o.sql("SELECT point FROM outreach.invalid_contact_points") == [("deudor@example.com",)]
        again = await bounce_received(o.platform.db, dsn(message_id, "deudor@example.com"), now=o.clock.now)
        assert (again.failed, again.address_invalid) == (False, False)
        assert len(await o.sql("SELECT 1 FROM outreach.trail WHERE kind = 'contact_point_invalid'")) == 1
    finally:
        await close(o)
