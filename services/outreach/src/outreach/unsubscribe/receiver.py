"""The bounce receiver: an SMTP server (aiosmtpd) for the envelope sender's address, where mail servers send the
delivery status notifications (RFC 3464) of our messages they gave up on; each is applied by unsubscribe.bounces.
It takes mail for the configured bounce addresses only, never relays, and holds to its limits whatever a client
sends: a message past the size cap is refused (552 5.3.4), a client past the session cap, or past its address's
share of it, is told to come back (421 4.3.2, 421 4.7.0), and mail that is no report, or none of ours, is taken
and dropped, counted by outcome."""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable
from typing import Any, AnyStr

from aiosmtpd.smtp import SMTP, Envelope, Session
from prometheus_client import Counter

from outreach.domain.delivery_reports import delivery_report
from outreach.settings import OutreachSettings
from outreach.unsubscribe.bounces import report_received
from recaudo_common.bus.consumer import Clock
from recaudo_common.db import Database

log = logging.getLogger("recaudo.outreach.bounces")
# aiosmtpd logs each command and, at debug, each line of DATA: a report quotes the address it bounced.
logging.getLogger("mail.log").setLevel(logging.WARNING)

# Outcomes: a report applied (the attempt failed, maybe its address marked), a duplicate, one for a message not
# ours, one that reports no failure, mail that is no report, mail that could not be read, a recipient other than
# the bounce address, a message over the size cap, a client over the session cap or over its address's share of it,
# a store that failed (451).
BOUNCES = Counter("recaudo_outreach_bounces_total", "Mail received at the bounce address, by what became of it",
                  ["outcome"])

TOO_BIG = "552 5.3.4 Message too big for this mailbox"
BUSY = "421 4.3.2 Too many connections, try again later"
PEER_BUSY = "421 4.7.0 Too many connections from your address, try again later"
NOT_OURS = "550 5.1.1 Recipient address rejected: not a bounce address of this service"
UNREADABLE = "554 5.6.0 Message could not be read"
DROPPED = "250 2.6.0 Not a delivery status notification: accepted and discarded"
TAKEN = "250 2.6.0 Delivery status notification received"
TRY_LATER = "451 4.3.0 Temporary failure, try again later"


class BounceMailbox:
    """aiosmtpd's handler: which recipients it takes, and what it does with a message received."""

    def __init__(self, db: Database, addresses: list[str], clock: Clock) -> None:
        self.db = db
        self.addresses = frozenset(a.strip().lower() for a in addresses)
        self.clock = clock

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if address.strip().lower() not in self.addresses:
            BOUNCES.labels("recipient_refused").inc()
            return NOT_OURS
        if address not in envelope.rcpt_tos:
            envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        outcome, reply = await self.received(envelope.original_content or b"")
        BOUNCES.labels(outcome).inc()
        return reply

    async def received(self, raw: bytes) -> tuple[str, str]:
        """The outcome and the SMTP reply for a message: 250 once its effect is committed (or it has none), 451
        when the store failed so the sending server tries again later, 554 for one the parser could not read."""
        try:
            # Off the event loop: a message near the cap, or nested deep, takes the parser a while.
            report = await asyncio.to_thread(delivery_report, raw)
        except Exception as e:  # hostile MIME (a RecursionError on deep nesting, ...) is refused, never a crash
            log.info("bounce unreadable", extra={"fields": {"error": type(e).__name__}})
            return "unreadable", UNREADABLE
        if report is None:
            return "not_a_report", DROPPED
        try:
            bounce = await report_received(self.db, report, now=self.clock())
        except Exception as e:  # the database's trouble, not the sender's: it retries later
            log.warning("bounce not applied; the sender will retry", extra={"fields": {"error": type(e).__name__}})
            return "error", TRY_LATER
        return bounce.outcome, TAKEN


class _Session(SMTP):
    """One client's session under the receiver's limits: aiosmtpd's own size refusal said with its enhanced status
    code (RFC 3463 5.3.4), and a client past the session cap or its address's share told to come back before
    anything else."""

    def __init__(self, receiver: BounceReceiver, **kwargs: Any) -> None:
        super().__init__(receiver.mailbox, **kwargs)
        self.receiver = receiver

    async def push(self, status: AnyStr) -> None:
        if isinstance(status, str) and status.startswith("552 "):  # DATA past data_size_limit, or a SIZE past it
            BOUNCES.labels("too_big").inc()
            status = TOO_BIG
        await super().push(status)

    async def _handle_client(self) -> None:
        peer = _address(self.transport)
        refusal = self.receiver.admit(peer)
        if refusal is not None:
            BOUNCES.labels("busy" if refusal == BUSY else "peer_busy").inc()
            await self.push(refusal)
            if self.transport is not None:
                self.transport.close()
            return
        self.receiver.open.add(self)
        try:
            await super()._handle_client()
        finally:
            self.receiver.leave(peer)
            self.receiver.open.discard(self)


def _address(transport: asyncio.BaseTransport | None) -> str:
    """The client's IP address (the Service keeps it: externalTrafficPolicy Local), or "" if it is gone."""
    peer = transport.get_extra_info("peername") if transport is not None else None
    return str(peer[0]) if isinstance(peer, tuple) and peer else ""


class BounceReceiver:
    """The SMTP server on the settings' host and port; a worker of outreach's (main.py), so it runs while the
    service runs and stops with it."""

    def __init__(self, db: Database, settings: OutreachSettings, clock: Clock) -> None:
        self.settings = settings
        self.mailbox = BounceMailbox(db, settings.smtp_bounce_addresses, clock)
        self.max_sessions = settings.smtp_bounce_max_sessions
        self.max_per_peer = settings.smtp_bounce_max_sessions_per_peer
        self.sessions = 0
        self.by_peer: collections.Counter[str] = collections.Counter()
        self.open: set[_Session] = set()
        self.server: asyncio.Server | None = None
        # The greeting names the bounce domain: aiosmtpd would otherwise look the host's name up in the DNS.
        self.hostname = settings.envelope_sender.rpartition("@")[2]

    def admit(self, peer: str) -> str | None:
        """Takes a session for a client at `peer`, or says why not: every session taken, or its address's share."""
        if self.sessions >= self.max_sessions:
            return BUSY
        if self.by_peer[peer] >= self.max_per_peer:
            return PEER_BUSY
        self.sessions += 1
        self.by_peer[peer] += 1
        return None

    def leave(self, peer: str) -> None:
        self.sessions -= 1
        self.by_peer[peer] -= 1
        if not self.by_peer[peer]:
            del self.by_peer[peer]  # the counter does not grow with every address ever seen

    def _session(self) -> _Session:
        return _Session(self, data_size_limit=self.settings.smtp_bounce_max_bytes, enable_SMTPUTF8=True,
                        hostname=self.hostname, ident="Recaudo bounces", timeout=self.settings.smtp_bounce_timeout_s,
                        command_call_limit=100, loop=asyncio.get_running_loop())

    async def start(self) -> None:
        factory: Callable[[], _Session] = self._session
        self.server = await asyncio.get_running_loop().create_server(
            factory, host=self.settings.smtp_bounce_host, port=self.settings.smtp_bounce_port)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            for session in list(self.open):  # a session in progress ends with the service (Python 3.12 waits)
                if session.transport is not None:
                    session.transport.close()
            await self.server.wait_closed()
            self.server = None

    async def run(self, stop: asyncio.Event) -> None:
        """Serves until the service stops."""
        await self.start()
        log.info("bounce receiver listening", extra={"fields": {"port": self.settings.smtp_bounce_port}})
        try:
            await stop.wait()
        finally:
            await self.close()
