"""E-mail's rules without I/O: the signed one-click unsubscribe link and RFC 8058's header fields, the DKIM
signature over them (verified by dkimpy against the public key), and which refusals and delivery status
notifications (RFC 3464) mean an address is dead."""

import base64
import datetime as dt
import uuid

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from outreach.domain.delivery_reports import delivery_report
from outreach.domain.unsubscribe import (
    LIST_UNSUBSCRIBE_POST,
    address_is_dead,
    is_one_click,
    list_unsubscribe_headers,
    read_unsubscribe_token,
    unsubscribe_token,
)
from outreach.providers.base import OutboundMessage
from outreach.providers.smtp import Smtp
from outreach.settings import OutreachSettings
from recaudo_common.payment_links import make_token, read_token

pytestmark = pytest.mark.unit

SECRET = "a-link-secret-of-the-platform-0123456789"
ATTEMPT = uuid.UUID("6f1c1b1e-3f0a-4b8e-9a43-0d7f3c2b9e11")


def test_a_link_names_its_attempt_and_channel_and_nothing_of_the_person() -> None:
    token = unsubscribe_token(ATTEMPT, "email", SECRET)
    target = read_unsubscribe_token(token, SECRET)
    assert target is not None and (target.attempt_id, target.channel) == (ATTEMPT, "email")
    assert "@" not in token and not any(run in token for run in ("1020304050", "deudor"))
    assert len(token) < 80


def test_a_tampered_forged_or_foreign_link_names_nothing() -> None:
    token = unsubscribe_token(ATTEMPT, "email", SECRET)
    channel, attempt, signature = token.split(".")
    other = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    for bad in (f"{channel}.{other}.{signature}", f"sms.{attempt}.{signature}", f"{channel}.{attempt}.{flipped}",
                f"{channel}.{attempt}", "", "a.b.c.d", token + "x", unsubscribe_token(ATTEMPT, "email", "another")):
        assert read_unsubscribe_token(bad, SECRET) is None, bad
    # One secret signs payment links and unsubscribe links: neither passes for the other.
    now = dt.datetime(2026, 3, 4, tzinfo=dt.UTC)
    pay = make_token(client="banco", account_ref="E-1", expires_at=now + dt.timedelta(days=30), secret=SECRET)
    assert read_unsubscribe_token(pay, SECRET) is None
    assert read_token(token, secret=SECRET, now=now) is None


def test_the_header_fields_are_rfc_8058s() -> None:
    # RFC 8058 section 8 (Examples): the HTTPS URI in angle brackets, and the one key/value of section 3.1.
    assert list_unsubscribe_headers("https://example.com/unsubscribe/opaquepart") == [
        ("List-Unsubscribe", "<https://example.com/unsubscribe/opaquepart>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")]
    assert LIST_UNSUBSCRIBE_POST == "List-Unsubscribe=One-Click"
    with pytest.raises(ValueError):
        list_unsubscribe_headers("https://example.com/u/x>, <mailto:someone@example.com")


def test_only_the_one_click_body_unsubscribes() -> None:
    assert is_one_click({"List-Unsubscribe": "One-Click"})
    assert not is_one_click({}) and not is_one_click({"List-Unsubscribe": "one-click-please"})


@pytest.mark.parametrize(("code", "text", "dead"), [
    (550, "5.1.1 <x@example.com>: Recipient address rejected: User unknown", True),
    (550, "Requested action not taken: mailbox unavailable", True),
    (551, "User not local", True),
    (553, "5.1.3 Bad recipient address syntax", True),
    (550, "5.2.1 Mailbox disabled", True),
    (552, "5.2.2 Mailbox full", False),
    (550, "5.7.1 Message rejected as spam", False),
    (554, "Transaction failed", False),
    (450, "4.2.1 Mailbox temporarily unavailable", False),
    (421, "Service not available", False),
])
def test_which_refusals_mean_a_dead_address(code: int, text: str, dead: bool) -> None:
    assert address_is_dead(code, text) is dead


def dsn(action: str, status: str, returned: str = "") -> bytes:
    """A delivery status notification as RFC 3464 section 2 lays it out (and its appendix's examples)."""
    return (
        "From: MAILER-DAEMON@mx.example.org\r\nTo: rebotes@agencia.example\r\nSubject: Undelivered Mail\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="RAA14128.773615765/mx.example.org"'
        "\r\n\r\n--RAA14128.773615765/mx.example.org\r\nContent-Type: text/plain\r\n\r\n"
        "Your message could not be delivered.\r\n\r\n"
        "--RAA14128.773615765/mx.example.org\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.org\r\nArrival-Date: Thu, 3 Dec 2026 11:00:00 +0000\r\n\r\n"
        f"Final-Recipient: rfc822; deudor@example.com\r\nAction: {action}\r\nStatus: {status}\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n"
        f"{returned}--RAA14128.773615765/mx.example.org--\r\n").encode()


def test_a_dsns_permanent_failure_names_the_address() -> None:
    report = delivery_report(dsn("failed", "5.1.1"))
    assert report is not None
    [failed] = report.dead
    assert (failed.recipient, failed.status) == ("deudor@example.com", "5.1.1")
    for action, status in (("delayed", "4.4.7"), ("failed", "5.7.1")):  # 5.7.1 refused as spam: not the address
        later = delivery_report(dsn(action, status))
        assert later is not None and later.dead == []
    assert delivery_report(b"From: a@b\r\nSubject: hola\r\n\r\nNo soy un reporte.\r\n") is None


def returned_message_id(raw: bytes) -> str | None:
    report = delivery_report(raw)
    assert report is not None
    return report.message_id


def test_a_dsn_names_the_message_it_returns_by_its_message_id() -> None:
    headers = ("--RAA14128.773615765/mx.example.org\r\nContent-Type: text/rfc822-headers\r\n\r\n"
               "From: cobranza@agencia.example\r\nTo: deudor@example.com\r\n"
               f"Message-ID: <{ATTEMPT}@agencia.example>\r\nSubject: Saldo\r\n\r\n")
    assert returned_message_id(dsn("failed", "5.1.1", headers)) == f"{ATTEMPT}@agencia.example"
    whole = headers.replace("text/rfc822-headers", "message/rfc822").replace("Subject: Saldo\r\n\r\n",
                                                                           "Subject: Saldo\r\n\r\nHola\r\n")
    assert returned_message_id(dsn("failed", "5.1.1", whole)) == f"{ATTEMPT}@agencia.example"
    assert returned_message_id(dsn("failed", "5.1.1")) is None


def key_pair() -> tuple[str, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def test_the_dkim_signature_covers_the_unsubscribe_fields_and_verifies() -> None:
    private, record = key_pair()
    settings = OutreachSettings(public_url="https://cobro.agencia.example", link_secret=SECRET,
                                smtp_from="cobranza@agencia.example", smtp_dkim_selector="recaudo",
                                smtp_dkim_domain="agencia.example", smtp_dkim_private_key=private)
    raw = Smtp(settings).compose(OutboundMessage(ATTEMPT, "email", "deudor@example.com", "Saldo pendiente",
                                                 "Estimado(a) María: su obligación está en mora.\n"))
    asked: list[bytes] = []

    def dns(name: bytes, timeout: int = 5) -> bytes:
        asked.append(name)
        return record

    assert raw.startswith(b"DKIM-Signature: v=1; a=rsa-sha256;") and dkim.verify(raw, dnsfunc=dns)
    assert asked == [b"recaudo._domainkey.agencia.example."]
    signature = raw.split(b"\r\nFrom:")[0]
    assert b"list-unsubscribe : list-unsubscribe-post" in signature.replace(b"\r\n ", b" ")
    token = unsubscribe_token(ATTEMPT, "email", SECRET)
    assert f"\r\nList-Unsubscribe: <https://cobro.agencia.example/u/{token}>\r\n".encode() in raw
    # A relay that rewrote the link (to unsubscribe someone else) breaks the signature.
    other = unsubscribe_token(uuid.uuid4(), "email", SECRET)
    assert not dkim.verify(raw.replace(token.encode(), other.encode()), dnsfunc=dns)


def test_without_a_key_nothing_is_signed() -> None:
    raw = Smtp(OutreachSettings(link_secret=SECRET)).compose(
        OutboundMessage(ATTEMPT, "email", "deudor@example.com", "Saldo", "Hola\n"))
    assert not raw.startswith(b"DKIM-Signature") and b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw


def test_production_refuses_a_dkim_key_without_its_selector_and_domain() -> None:
    half = OutreachSettings(providers={"email": "smtp"}, smtp_dkim_selector="recaudo")
    assert "RECAUDO_OUTREACH_SMTP_DKIM_PRIVATE_KEY: DKIM needs its selector, domain and private key together" in [
        str(p) for p in half.production_problems()]
    whole = OutreachSettings(providers={"email": "smtp"}, smtp_dkim_selector="recaudo", smtp_dkim_domain="a.example",
                             smtp_dkim_private_key="-----BEGIN RSA PRIVATE KEY-----")
    assert not any("DKIM" in p.problem for p in whole.production_problems())
    assert "BEGIN RSA" not in repr(whole)  # the key is a secret: never in a repr, so never in a log line
