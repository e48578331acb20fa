"""Delivery status notifications (RFC 3464) read without I/O: a Postfix-shaped and an Exchange-shaped report
(written from RFC 3464 section 2's layout and the fields those servers put in it), which failures say the address
is dead, and hostile or damaged mail that reads as no report or as far as it goes, never as someone's failure."""

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.domain.delivery_reports import delivery_report

pytestmark = pytest.mark.unit

ATTEMPT = uuid.UUID("0b6f3f2e-6d3c-4c59-9d1e-5a7a2b1c4d8e")
MESSAGE_ID = f"{ATTEMPT}@agencia.example"


def postfix(action: str = "failed", status: str = "5.1.1", returned: str = "text/rfc822-headers") -> bytes:
    """What Postfix's bounce daemon sends: multipart/report with a human part, the delivery-status part (its
    X-Postfix fields beside RFC 3464's) and the returned message's headers (or the whole message)."""
    b = "4F6A21C0E3B.1764770000/mail.example.com"
    body = "\r\nHola, tiene un saldo pendiente.\r\n" if returned == "message/rfc822" else "\r\n"
    diagnostic = ("smtp; 550 5.1.1 <deudor@example.com>: Recipient address rejected: User unknown in virtual "
                  "mailbox table" if status.startswith("5") else "X-Postfix; connect to mx.example.com[192.0.2.7]:25: "
                  "Connection timed out")
    return (
        "Return-Path: <>\r\nFrom: MAILER-DAEMON@mail.example.com (Mail Delivery System)\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nTo: rebotes@agencia.example\r\n"
        "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary="{b}"\r\n'
        "Content-Transfer-Encoding: 7bit\r\nMessage-Id: <20261203141200.4F6A21C0E3B@mail.example.com>\r\n\r\n"
        "This is a MIME-encapsulated message.\r\n\r\n"
        f"--{b}\r\nContent-Description: Notification\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        "This is the mail system at host mail.example.com.\r\n\r\nI'm sorry to have to inform you that your message "
        "could not\r\nbe delivered to one or more recipients.\r\n\r\n"
        f"--{b}\r\nContent-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mail.example.com\r\nX-Postfix-Queue-ID: 4F6A21C0E3B\r\n"
        "X-Postfix-Sender: rfc822; rebotes@agencia.example\r\n"
        "Arrival-Date: Thu,  3 Dec 2026 14:11:58 +0000 (UTC)\r\n\r\n"
        "Final-Recipient: rfc822; deudor@example.com\r\nOriginal-Recipient: rfc822;deudor@example.com\r\n"
        f"Action: {action}\r\nStatus: {status}\r\nRemote-MTA: dns; mx.example.com\r\n"
        f"Diagnostic-Code: {diagnostic}\r\n\r\n"
        f"--{b}\r\nContent-Description: Undelivered Message Headers\r\nContent-Type: {returned}\r\n\r\n"
        "From: cobranza@agencia.example\r\nTo: deudor@example.com\r\nSubject: Su saldo con Banco Andino\r\n"
        f"Message-ID: <{MESSAGE_ID}>\r\nMIME-Version: 1.0\r\n{body}\r\n--{b}--\r\n").encode()


def exchange(status: str = "5.1.10") -> bytes:
    """What Exchange Online sends: the human part is multipart/alternative, the recipient block carries
    lower-case field names and an X-Display-Name, the returned message comes whole as message/rfc822."""
    b = "_000_BN8PR12MB1234ABCDnamprd12prodoutlookcom_"
    return (
        "From: Microsoft Outlook <postmaster@example.onmicrosoft.com>\r\nTo: <rebotes@agencia.example>\r\n"
        "Subject: Undeliverable: Su saldo con Banco Andino\r\nDate: Thu, 3 Dec 2026 14:12:03 +0000\r\n"
        "Content-Language: en-US\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{b}"\r\n'
        "X-MS-Exchange-Message-Is-Ndr: \r\n\r\n"
        f"--{b}\r\nContent-Type: multipart/alternative; differences=Content-Type;\r\n"
        '\tboundary="_002_alt_"\r\n\r\n--_002_alt_\r\nContent-Type: text/plain; charset="us-ascii"\r\n\r\n'
        "Your message to deudor@example.com couldn't be delivered.\r\n\r\n--_002_alt_\r\n"
        'Content-Type: text/html; charset="us-ascii"\r\n\r\n<html><body><b>deudor</b> wasn\'t found at '
        "example.com.</body></html>\r\n\r\n--_002_alt_--\r\n\r\n"
        f"--{b}\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns;BN8PR12MB1234.namprd12.prod.outlook.com\r\n"
        "Received-From-MTA: dns;mail.agencia.example\r\nArrival-Date: Thu, 3 Dec 2026 14:12:02 +0000\r\n\r\n"
        "Original-Recipient: rfc822;deudor@example.com\r\nFinal-recipient: rfc822;deudor@example.com\r\n"
        f"Action: failed\r\nStatus: {status}\r\nDiagnostic-Code: smtp;550 {status} "
        "RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup\r\n"
        "X-Display-Name: deudor@example.com\r\n\r\n"
        f"--{b}\r\nContent-Type: message/rfc822\r\n\r\n"
        "From: cobranza@agencia.example\r\nTo: deudor@example.com\r\nSubject: Su saldo con Banco Andino\r\n"
        f"Date: Thu, 03 Dec 2026 14:11:57 GMT\r\nMessage-ID: <{MESSAGE_ID}>\r\n"
        'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
        f"Hola, tiene un saldo pendiente.\r\n\r\n--{b}--\r\n").encode()


@pytest.mark.parametrize("raw", [postfix(), postfix(returned="message/rfc822"), exchange()],
                         ids=["postfix-headers", "postfix-whole", "exchange"])
def test_a_permanent_failure_names_our_message_and_the_dead_address(raw: bytes) -> None:
    report = delivery_report(raw)
    assert report is not None and report.message_id == MESSAGE_ID
    [failed] = report.failed
    assert failed.recipient == "deudor@example.com" and failed.status in ("5.1.1", "5.1.10")
    assert report.dead == [failed]


@pytest.mark.parametrize(("action", "status", "failed", "dead"), [
    ("delayed", "4.4.1", False, False),  # still trying: nothing happened to the message yet
    ("failed", "4.4.7", True, False),    # gave up after the queue lifetime: not delivered, the address not at fault
    ("failed", "5.7.1", True, False),    # refused as spam or by policy: our message, not the address
    ("failed", "5.2.2", True, False),    # mailbox full
    ("failed", "5.2.1", True, True),     # mailbox disabled
    ("failed", "5.1.2", True, True),     # no such domain
    ("delivered", "2.0.0", False, False),
    ("relayed", "2.0.0", False, False),
    ("failed", "", True, False),         # a failure without its status says nothing against the address
    ("failed", "5.1.1.1", True, False),  # not RFC 3463's form
])
def test_which_reports_fail_the_message_and_which_kill_the_address(action: str, status: str, failed: bool,
                                                                   dead: bool) -> None:
    report = delivery_report(postfix(action, status))
    assert report is not None
    assert (bool(report.failed), bool(report.dead)) == (failed, dead)


def test_mail_that_is_no_report_reads_as_none() -> None:
    out_of_office = (b"From: deudor@example.com\r\nTo: rebotes@agencia.example\r\nSubject: Fuera de la oficina\r\n"
                     b"Auto-Submitted: auto-replied\r\n\r\nEstoy de vacaciones.\r\n")
    other_report = postfix().replace(b"report-type=delivery-status", b"report-type=disposition-notification")
    for raw in (out_of_office, other_report, b"", b"\x00\xff garbage \r\n\r\n", b"Content-Type: multipart/report"):
        assert delivery_report(raw) is None


def test_a_damaged_report_reads_as_far_as_it_goes_and_names_nobody_it_cannot_read() -> None:
    cut = postfix()[: postfix().index(b"Final-Recipient")]  # cut before any recipient block
    report = delivery_report(cut)
    assert report is not None and report.failed == [] and report.message_id is None
    no_boundary = postfix().replace(b'boundary="4F6A21C0E3B.1764770000/mail.example.com"', b"")
    report = delivery_report(no_boundary)
    assert report is not None and report.failed == []
    # Another address type (section 2.3.2: X.400, ...) is nobody's address here.
    x400 = postfix().replace(b"Final-Recipient: rfc822; deudor@example.com\r\nOriginal-Recipient: rfc822;"
                             b"deudor@example.com", b"Final-Recipient: x400; /G=deudor/S=example/")
    report = delivery_report(x400)
    assert report is not None and report.failed == []
    # A returned Message-ID past RFC 5322's line length is nobody's.
    report = delivery_report(postfix().replace(MESSAGE_ID.encode(), b"x" * 1200 + b"@agencia.example"))
    assert report is not None and report.message_id is None


def test_a_hostile_report_with_huge_headers_and_deep_nesting_is_read_within_limits() -> None:
    huge = postfix().replace(b"MIME-Version: 1.0\r\nContent-Type: multipart/report",
                        b"".join(b"X-H%d: %s\r\n" % (i, b"b" * 900) for i in range(500))
                        + b"MIME-Version: 1.0\r\nContent-Type: multipart/report")
    report = delivery_report(huge)
    assert report is not None and report.message_id == MESSAGE_ID
    # Multipart nested a few thousand deep: read without a crash, or refused by the receiver (it catches it).
    nested = b"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=b0\r\n\r\n"
    for depth in range(3000):
        nested += b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (depth, depth + 1)
    try:
        report = delivery_report(nested)
    except RecursionError:
        report = None
    assert report is None or report.failed == []


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_name_a_failure(raw: bytes) -> None:
    report = delivery_report(b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n" + raw)
    assert report is None or all(r.status == "" or r.status[0] in "245" for r in report.recipients)
