"""Per-sender pacing at the claim (#20): each sender (a client company's WhatsApp number at Meta, a Twilio number,
Messaging Service or account, the SMTP relay, the sandbox) sends at most its rate, however many replicas claim.

The design, the simplest we found correct across replicas: a token bucket per sender is one row of
outreach.sender_buckets, locked (FOR UPDATE SKIP LOCKED) in the claim's own transaction. The claim looks at its
lanes (a client company's due attempts on one channel: each lane goes out through one sender, several lanes may
share one, e.g. the platform's Twilio number), refills each bucket to `now` (domain/pacing.py), and takes from
each lane at most its share of the bucket's whole tokens (and of the claim's batch), oldest first. Once the
contact law has decided them, the bucket is written back less the messages actually handed over: an attempt the
law blocks or reschedules spends nothing. A sender whose bucket another replica holds is skipped this tick (that
replica is sending for it), so no claim waits on another (except, once, two meeting a new sender: its row is
inserted in key order, so they cannot deadlock).

What the rate holds back is never touched: it stays `scheduled` and due, and a later tick takes it, in order; it
is neither dropped nor failed. Another sender's lane is claimed on its own, so a sender at its rate does not hold
back anyone else's attempts. Messages are counted, not segments (Twilio meters an SMS's segments: set its rate
in messages, its MPS over the usual segments per message)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from outreach.domain import pacing
from outreach.domain.pacing import Bucket, Rate
from outreach.providers import Provider, Providers
from outreach.sending import store as sending
from outreach.sending.store import DueAttempt, Lane
from outreach.sending.whatsapp import WhatsAppRouting
from outreach.settings import CHANNELS, OutreachSettings
from recaudo_common.db import sql, unnest_rows

PACED = Counter("recaudo_outreach_sends_paced_total",
                "Due attempts a claim left due for a later tick because their sender was at its rate (each time it "
                "waits; at most a batch's share counted per client company and channel and tick)", ["channel"])

# Messages a second per sender when the settings name none, as each provider documents its default:
# - Meta's Cloud API: 80 messages a second per business phone number by default (inbound and outbound together;
#   past it, error 130429): https://developers.facebook.com/documentation/business-messaging/whatsapp/throughput
# - Twilio SMS: a US long code sends one segment a second (queued per sender beyond it, up to hours, then error
#   30001 / 21611): https://www.twilio.com/docs/api/errors/30001 , https://www.twilio.com/docs/api/errors/21611
# - Twilio WhatsApp: 10 MPS of text per WhatsApp sender by default (50 on request):
#   https://www.twilio.com/docs/whatsapp/best-practices-and-faqs
# - Twilio Voice: 1 call a second per account by default (CPS): https://www.twilio.com/docs/glossary/cps
# - SMTP documents none: the relay's contract says; 20 until the settings do.
DEFAULT_RATES = {"whatsapp_cloud": 80.0, "twilio/sms": 1.0, "twilio/whatsapp": 10.0, "twilio/voice": 1.0,
                 "smtp": 20.0, "sandbox": 500.0}
FALLBACK_RATE = 10.0
# A sender may send one second's worth at once after a quiet spell: the providers state their limits per second.
BURST_S = 1.0
CLAIMED_CHANNELS = tuple(c for c in CHANNELS if c != "agent")


def configured_rate(settings: OutreachSettings, provider: str, channel: str) -> float:
    """The settings' rate for "provider/channel", else for "provider", else the provider's documented default."""
    for rates in (settings.provider_rate_per_s, DEFAULT_RATES):
        for key in (f"{provider}/{channel}", provider):
            if key in rates:
                return rates[key]
    return FALLBACK_RATE


@dataclass(frozen=True)
class Sender:
    """Who a lane's messages go out from, as its provider meters it, and its rate. The key names the provider and
    channel and a digest of the sender's id: no phone number is stored or labelled."""

    key: str
    rate: Rate


def sender_key(provider: str, channel: str, sender_id: str) -> str:
    return f"{provider}/{channel}:{hashlib.sha256(sender_id.encode()).hexdigest()[:16]}"


async def sender_of(s: AsyncSession, settings: OutreachSettings, providers: Providers, provider: Provider,
                    lane: Lane) -> Sender | None:
    """The lane's sender; None when its provider has none (a client company's WhatsApp number not configured:
    its attempts are decided, and refused, as before)."""
    per_second = configured_rate(settings, provider.name, lane.channel)
    if provider.name == providers.whatsapp_cloud.name:
        row = (await s.execute(sql(
            "SELECT phone_number_id, messages_per_second FROM outreach.whatsapp_channels WHERE client_slug = :c"),
            {"c": lane.client})).first()
        if row is None:
            return None
        sender_id, per_second = row.phone_number_id, row.messages_per_second or per_second
    elif providers.twilio is not None and provider.name == providers.twilio.name:
        sender_id = providers.twilio.sender(lane.channel)
    elif provider.name == "smtp":
        sender_id = f"{settings.smtp_host}:{settings.smtp_port}"
    else:
        sender_id = provider.name
    return Sender(sender_key(provider.name, lane.channel, sender_id), Rate.of(per_second, BURST_S))


@dataclass
class Paced:
    """What a claim holds of its senders' buckets until its transaction ends: each locked bucket refilled to the
    claim's instant, and which sender each claimed lane goes out through."""

    buckets: dict[str, Bucket] = field(default_factory=dict)
    sender_of_lane: dict[Lane, str] = field(default_factory=dict)
    held_back: bool = False  # some due attempts were left for a later tick (a sender at its rate, or busy)


async def _lock_buckets(s: AsyncSession, senders: dict[str, Sender], now: dt.datetime) -> dict[str, Bucket]:
    """The senders' buckets this transaction now holds (a new sender starts full), refilled to `now`; a bucket
    another replica holds is left out."""
    if not senders:
        return {}
    # In key order, as every replica inserts them: two claims meeting new senders never wait on each other
    # in crossed order.
    fresh = [(key, pacing.full(senders[key].rate, now).tokens, now) for key in sorted(senders)]
    source, params = unnest_rows({"sender": "text", "tokens": "float8", "at": "timestamptz"}, fresh, alias="x")
    await s.execute(sql(f"INSERT INTO outreach.sender_buckets (sender, tokens, updated_at) "
                        f"SELECT x.sender, x.tokens, x.at FROM {source} ON CONFLICT (sender) DO NOTHING"), params)
    rows = (await s.execute(sql(
        "SELECT sender, tokens, updated_at FROM outreach.sender_buckets WHERE sender = ANY(:keys) "
        "FOR UPDATE SKIP LOCKED"), {"keys": list(senders)})).all()
    return {r.sender: pacing.refill(Bucket(r.tokens, r.updated_at), senders[r.sender].rate, now) for r in rows}


async def claim_paced(s: AsyncSession, settings: OutreachSettings, providers: Providers, routing: WhatsAppRouting,
                      *, now: dt.datetime, limit: int) -> tuple[list[DueAttempt], Paced]:
    """The due attempts this claim may send, each lane's oldest first, within its sender's tokens and a fair
    share of `limit`; the buckets stay locked until the transaction ends (`settle` writes them back)."""
    lanes = await sending.due_lanes(s, now, CLAIMED_CHANNELS)
    senders: dict[Lane, Sender | None] = {}
    for lane in lanes:
        provider = await routing.provider(s, lane.client, lane.channel)
        senders[lane] = await sender_of(s, settings, providers, provider, lane) if provider else None
    paced = Paced()
    wanted = {sender.key: sender for sender in senders.values() if sender is not None}
    paced.buckets = await _lock_buckets(s, wanted, now)
    tokens = {key: pacing.allowance(bucket) for key, bucket in paced.buckets.items()}
    # A sender another replica holds is sending there right now: its lanes wait for a later tick.
    claimable = [lane for lane in lanes if (sender := senders[lane]) is None or sender.key in tokens]
    paced.held_back = len(claimable) < len(lanes)
    lanes_of: dict[str, int] = {}
    for lane in claimable:
        if (sender := senders[lane]) is not None:
            lanes_of[sender.key] = lanes_of.get(sender.key, 0) + 1
    due: list[DueAttempt] = []
    remaining = limit
    # Oldest lane first; each takes its fair share of what is left of the batch and of its sender's tokens, so
    # what a lane does not use (fewer due, or only attempts whose account is not here yet) goes on to the next
    # lanes: client companies on one sender take turns and none is held back by another's empty share.
    for i, lane in enumerate(claimable):
        share = pacing.fair_share(remaining, len(claimable) - i)
        sender = senders[lane]
        cap = None if sender is None else pacing.fair_share(tokens[sender.key], lanes_of[sender.key])
        n = share if cap is None else min(share, cap)
        taken = await sending.claim_due(s, now, n, lane) if n > 0 else []
        due += taken
        remaining -= len(taken)
        if sender is None:
            continue
        tokens[sender.key] -= len(taken)
        lanes_of[sender.key] -= 1
        paced.sender_of_lane[lane] = sender.key
        if cap is not None and cap < share and len(taken) == cap:  # the sender's rate stopped it: count the rest
            waiting = await sending.count_due(s, now, lane, share) - len(taken)
            if waiting > 0:
                paced.held_back = True
                PACED.labels(lane.channel).inc(waiting)
    # The batch is decided in due order across lanes, as one claim of the oldest always was (a debtor's earlier
    # message in the batch counts as a contact for their later one).
    due.sort(key=lambda a: (a.scheduled_at or now, str(a.attempt_id)))
    return due, paced


async def settle(s: AsyncSession, paced: Paced, handed_over: list[Lane]) -> None:
    """Writes the claim's buckets back, less one token per message handed over to its provider."""
    if not paced.buckets:
        return
    spent: dict[str, int] = {}
    for lane in handed_over:
        if (key := paced.sender_of_lane.get(lane)) is not None:
            spent[key] = spent.get(key, 0) + 1
    after = [(key, pacing.spend(bucket, spent.get(key, 0))) for key, bucket in paced.buckets.items()]
    source, params = unnest_rows({"sender": "text", "tokens": "float8", "at": "timestamptz"},
                                 [(key, b.tokens, b.updated_at) for key, b in after], alias="x")
    await s.execute(sql(f"UPDATE outreach.sender_buckets b SET tokens = x.tokens, updated_at = x.at FROM {source} "
                        "WHERE b.sender = x.sender"), params)


async def spend_unpaced(s: AsyncSession, settings: OutreachSettings, providers: Providers, provider: Provider,
                        lanes: list[Lane], now: dt.datetime) -> None:
    """Messages that went out through a paced sender without a claim (the WhatsApp answers a debtor is waiting
    for, never held back): one each is taken from their sender's bucket, so the claims that follow leave room
    for them. Waits for a claim that holds the bucket (its transaction is short)."""
    spent: dict[str, tuple[Sender, int]] = {}
    for lane in lanes:
        if (sender := await sender_of(s, settings, providers, provider, lane)) is not None:
            spent[sender.key] = (sender, spent.get(sender.key, (sender, 0))[1] + 1)
    for key, (sender, messages) in sorted(spent.items()):
        await s.execute(sql("INSERT INTO outreach.sender_buckets (sender, tokens, updated_at) VALUES (:k, :t, :at) "
                            "ON CONFLICT (sender) DO NOTHING"),
                        {"k": key, "t": sender.rate.burst, "at": now})
        row = (await s.execute(sql(
            "SELECT tokens, updated_at FROM outreach.sender_buckets WHERE sender = :k FOR UPDATE"), {"k": key})).one()
        after = pacing.debit(pacing.refill(Bucket(row.tokens, row.updated_at), sender.rate, now), sender.rate, messages)
        await s.execute(sql("UPDATE outreach.sender_buckets SET tokens = :t, updated_at = :at WHERE sender = :k"),
                        {"k": key, "t": after.tokens, "at": after.updated_at})
