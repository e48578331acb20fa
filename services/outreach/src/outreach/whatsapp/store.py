"""WhatsApp's tables: each client company's channel (its secrets sealed at rest) and the debtors' inbound
messages (their words and number, which outreach's erasure reaches); and the read the outbound provider uses:
`channel_of`, the channel with its credentials opened."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from outreach.domain.whatsapp import InboundMessage, Meaning
from outreach.receipts.store import SentAttempt
from outreach.store import LEGAL_HOLD
from recaudo_common.db import sql
from recaudo_common.personal_data import MasterKeyring
from recaudo_common.secrets_at_rest import open_secret, seal_secret
from recaudo_common.short_cache import ShortCache

PROVIDER = "whatsapp_cloud"  # the provider name its attempts are recorded under (attempts.provider)
SECRETS = ("access_token", "app_secret", "verify_token")


def _bound(client: str, name: str) -> str:
    return f"whatsapp/{client}/{name}"


@dataclass(frozen=True)
class WhatsAppChannel:
    """A client company's WhatsApp number at Meta, with its credentials opened (never logged: repr hides them)."""

    client: str
    phone_number_id: str
    api_base_url: str
    api_version: str
    webhook_id: str
    updated_at: dt.datetime
    access_token: str = field(repr=False)
    app_secret: str = field(repr=False)
    verify_token: str = field(repr=False)
    messages_per_second: float | None = None  # its own send rate (sending/pacing.py), None: the settings'

    @property
    def messages_url(self) -> str:
        """Where the Cloud API takes this number's messages: POST {base}/{version}/{phone_number_id}/messages."""
        return f"{self.api_base_url.rstrip('/')}/{self.api_version}/{self.phone_number_id}/messages"


@dataclass(frozen=True)
class ChannelSettings:
    """The configuration as an operator gives it (secrets in clear until put)."""

    phone_number_id: str
    access_token: str = field(repr=False)
    app_secret: str = field(repr=False)
    verify_token: str = field(repr=False)
    api_base_url: str
    api_version: str
    messages_per_second: float | None = None


async def put_channel(s: AsyncSession, keyring: MasterKeyring, client: str, given: ChannelSettings,
                      webhook_id: str, now: dt.datetime) -> tuple[bool, str]:
    """Creates or replaces the client company's channel; (created, its webhook id: kept from the first put)."""
    sealed = {name: seal_secret(keyring, _bound(client, name), getattr(given, name)) for name in SECRETS}
    row = (await s.execute(sql(
        """INSERT INTO outreach.whatsapp_channels AS w (client_slug, phone_number_id, access_token, app_secret,
               verify_token, api_base_url, api_version, webhook_id, messages_per_second, created_at, updated_at)
           VALUES (:c, :pn, :at, :as, :vt, :base, :ver, :hook, :mps, :now, :now)
           ON CONFLICT (client_slug) DO UPDATE SET phone_number_id = excluded.phone_number_id,
               access_token = excluded.access_token, app_secret = excluded.app_secret,
               verify_token = excluded.verify_token, api_base_url = excluded.api_base_url,
               api_version = excluded.api_version, messages_per_second = excluded.messages_per_second,
               updated_at = excluded.updated_at
           RETURNING w.webhook_id, (w.xmax = 0) AS created"""),
        {"c": client, "pn": given.phone_number_id, "at": sealed["access_token"], "as": sealed["app_secret"],
         "vt": sealed["verify_token"], "base": given.api_base_url, "ver": given.api_version, "hook": webhook_id,
         "mps": given.messages_per_second, "now": now})).one()
    return bool(row.created), str(row.webhook_id)


# Meta's notifications find their channel in a cache of a few seconds per process (one read a burst, not one each,
# every read holding a pool connection of its own): a change made through this process is seen at once (the PUT
# forgets it), through another within CHANNEL_TTL_S.
CHANNEL_TTL_S = 5.0
WhatsAppChannels = ShortCache[str, WhatsAppChannel | None]


async def channel_of(s: AsyncSession, keyring: MasterKeyring, client: str) -> WhatsAppChannel | None:
    """The client company's WhatsApp channel with its credentials opened, or None when it has none. Raises
    recaudo_common.secrets_at_rest.SecretUnreadable when a secret does not open (a master key removed too soon)."""
    row = (await s.execute(sql(
        "SELECT client_slug, phone_number_id, access_token, app_secret, verify_token, api_base_url, api_version, "
        "webhook_id, updated_at, messages_per_second FROM outreach.whatsapp_channels WHERE client_slug = :c"),
        {"c": client})).first()
    if row is None:
        return None
    opened = {name: open_secret(keyring, _bound(client, name), getattr(row, name)) for name in SECRETS}
    return WhatsAppChannel(row.client_slug, row.phone_number_id, row.api_base_url, row.api_version, row.webhook_id,
                           row.updated_at, **opened, messages_per_second=row.messages_per_second)


async def webhook_client(s: AsyncSession, client: str, webhook_id: str) -> bool:
    """Whether this is the client company's webhook (its slug and the opaque id in its URL)."""
    found = await s.scalar(sql("SELECT 1 FROM outreach.whatsapp_channels WHERE client_slug = :c "
                               "AND webhook_id = :w"), {"c": client, "w": webhook_id})
    return found is not None


# ------------------------------------------------------------------ debtors and their messages

@dataclass(frozen=True)
class Debtor:
    """An account of the client company whose debtor has this number."""

    account_ref: str
    debtor_id: str


async def accounts_with_phone(s: AsyncSession, client: str, phone: str) -> list[Debtor]:
    """The client company's accounts that list this phone (E.164), only within that company."""
    rows = await s.execute(sql(
        "SELECT account_ref, debtor_id FROM outreach.accounts WHERE client_slug = :c AND phones @> ARRAY[:p]::text[] "
        "ORDER BY account_ref"), {"c": client, "p": phone})
    return [Debtor(r.account_ref, r.debtor_id) for r in rows]


async def payable(s: AsyncSession, client: str, account_refs: list[str]) -> list[str]:
    """Those of the accounts a debtor may be sent a payment link for: open (not paid, settled or recalled) and
    under no legal hold (a dispute, an insolvency, a death), in the order given."""
    rows = await s.execute(sql(
        f"""SELECT acc.account_ref FROM outreach.accounts acc
            LEFT JOIN outreach.account_status st ON st.client_slug = acc.client_slug
                AND st.account_ref = acc.account_ref
            WHERE acc.client_slug = :c AND acc.account_ref = ANY(:refs) AND coalesce(st.status, 'open') = 'open'
              AND {LEGAL_HOLD} IS NULL"""),
        {"c": client, "refs": account_refs})
    found = {r.account_ref for r in rows}
    return [ref for ref in account_refs if ref in found]


async def attempt_of_message(s: AsyncSession, client: str, message_id: str) -> SentAttempt | None:
    """The client company's attempt that sent this message (the one a debtor's reply or button press answers)."""
    row = (await s.execute(sql(
        """SELECT a.id, a.client_slug, a.account_ref, a.channel, acc.debtor_id FROM outreach.attempts a
           JOIN outreach.accounts acc ON acc.client_slug = a.client_slug AND acc.account_ref = a.account_ref
           WHERE a.provider = :p AND a.provider_message_id = :m AND a.client_slug = :c"""),
        {"p": PROVIDER, "m": message_id, "c": client})).first()
    return SentAttempt(row.id, row.client_slug, row.account_ref, row.channel, row.debtor_id) if row else None


async def foreign_message_ids(s: AsyncSession, client: str, message_ids: list[str]) -> set[str]:
    """Of these message ids, those the platform sent for another client company (never settled from this one's
    webhook)."""
    if not message_ids:
        return set()
    rows = await s.execute(sql(
        "SELECT provider_message_id FROM outreach.attempts WHERE provider = :p AND provider_message_id = ANY(:m) "
        "AND client_slug <> :c"), {"p": PROVIDER, "m": message_ids, "c": client})
    return {r[0] for r in rows}


async def attempts_of_client(s: AsyncSession, client: str, attempt_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Of these attempts, those of this client company's sent through the Cloud API."""
    if not attempt_ids:
        return set()
    rows = await s.execute(sql(
        "SELECT id FROM outreach.attempts WHERE id = ANY(:a) AND client_slug = :c AND provider = :p"),
        {"a": attempt_ids, "c": client, "p": PROVIDER})
    return {r[0] for r in rows}


async def record_inbound(s: AsyncSession, *, client: str, message: InboundMessage, account_refs: list[str],
                         attempt_id: uuid.UUID | None, meaning: Meaning, now: dt.datetime) -> uuid.UUID | None:
    """Keeps the message (once: Meta retries); its id, or None when it was already kept."""
    inbound_id = uuid.uuid4()
    row = (await s.execute(sql(
        """INSERT INTO outreach.whatsapp_inbound (id, client_slug, provider_message_id, sender, account_refs,
               attempt_id, kind, body, reply_id, meaning, received_at)
           VALUES (:id, :c, :m, :sender, :refs, :a, :kind, :body, :reply, :meaning, :now)
           ON CONFLICT (client_slug, provider_message_id) DO NOTHING RETURNING id"""),
        {"id": inbound_id, "c": client, "m": message.message_id, "sender": message.sender, "refs": account_refs,
         "a": attempt_id, "kind": message.kind, "body": message.text, "reply": message.reply_id,
         "meaning": meaning.value, "now": now})).first()
    return inbound_id if row else None


async def queue_answer(s: AsyncSession, inbound_id: uuid.UUID, body: str) -> None:
    """The answer to send back in the conversation (the outbound provider sends it inside the 24-hour window and
    sets `answered_at`)."""
    await s.execute(sql("UPDATE outreach.whatsapp_inbound SET answer = :b WHERE id = :id"),
                    {"id": inbound_id, "b": body})


@dataclass(frozen=True)
class Conversation:
    """A debtor's message waiting for an agent."""

    id: uuid.UUID
    account_refs: list[str]
    kind: str
    body: str
    received_at: dt.datetime


async def open_conversations(s: AsyncSession, client: str, *, after: tuple[dt.datetime, uuid.UUID] | None,
                             limit: int) -> list[Conversation]:
    """Oldest first, those after `after` (the last one of the previous page)."""
    rows = await s.execute(sql(
        "SELECT id, account_refs, kind, body, received_at FROM outreach.whatsapp_inbound WHERE client_slug = :c "
        f"AND meaning = 'agent' AND handled_at IS NULL {'AND (received_at, id) > (:t, :id) ' if after else ''}"
        "ORDER BY received_at, id LIMIT :n"),
        {"c": client, "n": limit, **({"t": after[0], "id": after[1]} if after else {})})
    return [Conversation(r.id, list(r.account_refs), r.kind, r.body, r.received_at) for r in rows]


async def mark_handled(s: AsyncSession, client: str, conversation_id: uuid.UUID, now: dt.datetime) -> bool:
    """An agent took the conversation; False when the client company has no such message waiting for an agent."""
    row = (await s.execute(sql(
        "UPDATE outreach.whatsapp_inbound SET handled_at = coalesce(handled_at, :now) WHERE id = :id "
        "AND client_slug = :c AND meaning = 'agent' RETURNING 1"), {"id": conversation_id, "c": client,
                                                                     "now": now})).first()
    return row is not None
