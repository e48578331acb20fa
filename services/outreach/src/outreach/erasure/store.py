"""Erasure's statements: every plaintext copy of one person's data in schema outreach blanked, or deleted where the
row is nothing but that data, in the caller's transaction; what stays is pseudonymous (account refs, attempts,
amounts, dates, the debtor_ref) and the consent evidence, which holds no identifier."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.db import sql
from recaudo_common.personal_data import HeldRecord


@dataclass(frozen=True)
class Erased:
    """The person's accounts here and how many rows their erasure changed or deleted (0 when asked again)."""

    account_refs: list[str]
    rows: int


# The statements after the person's accounts and id numbers are found: :c the client company, :refs every account
# of the person here, :ids the id numbers those accounts held (the key of the rows kept per debtor). Each counts
# only rows it changes, so a second erasure of the same person counts none.
ERASING = [
    # Their WhatsApp messages (#20), before their copy of the account loses the phones that find those no account
    # was matched to: a message stays as a fact (what it asked for, when); their number and words go. The phones as
    # an array, not IN (subquery): inside the OR that became a hash of the client's every message, not two probes.
    """UPDATE outreach.whatsapp_inbound w SET sender = '', body = '', answer = NULL
       WHERE w.client_slug = :c
         AND (w.account_refs && CAST(:refs AS text[])
              OR w.sender = ANY(ARRAY(SELECT unnest(a.phones) FROM outreach.accounts a
                                      WHERE a.client_slug = :c AND a.account_ref = ANY(:refs))))
         AND (w.sender <> '' OR w.body <> '' OR w.answer IS NOT NULL)""",
    # Their copy of the account: who, and where to reach them. Region stays (a time zone, not a person).
    """UPDATE outreach.accounts SET debtor_id = '', full_name = '', phones = '{}', email = NULL, address = NULL,
           city = NULL, debtor_ref = coalesce(debtor_ref, :ref)
       WHERE client_slug = :c AND account_ref = ANY(:refs)
         AND (debtor_id <> '' OR full_name <> '' OR phones <> '{}' OR email IS NOT NULL OR address IS NOT NULL
              OR city IS NOT NULL)""",
    # Contacts made stay, to count and to report; only the id number they were kept under goes.
    """UPDATE outreach.contacts SET debtor_id = ''
       WHERE client_slug = :c AND (debtor_id = ANY(:ids) OR account_ref = ANY(:refs)) AND debtor_id <> ''""",
    # An opt-out or a do-not-contact entry is nothing but the person's id number and a channel or a reason: deleted.
    # Keeping it would keep the id number; and after the erasure the person is unknown here (their key is shredded,
    # the vault forgets their id number), so a later file naming the same id number is a new person, who starts
    # with their own consent record: the withdrawal stays in the consent evidence of the erased accounts.
    "DELETE FROM outreach.opt_outs WHERE client_slug = :c AND debtor_id = ANY(:ids)",
    "DELETE FROM outreach.do_not_contact WHERE client_slug = :c AND debtor_id = ANY(:ids)",
    # An address a mail server refused for good (#20): the address and the id number it was on file under.
    "DELETE FROM outreach.invalid_contact_points WHERE client_slug = :c AND debtor_id = ANY(:ids)",
    # What was sent, kept to repeat a send in doubt or to match a reply: only the recipient and the words. A send
    # still in doubt then reconciles as 'the message handed over was not kept' (never resent).
    """DELETE FROM outreach.outgoing m USING outreach.attempts a
       WHERE a.id = m.attempt_id AND a.client_slug = :c AND a.account_ref = ANY(:refs)""",
    # The sandbox's record that a message went out stays, without where or what.
    """UPDATE outreach.sandbox_messages m SET recipient = '', subject = NULL, body = ''
       FROM outreach.attempts a
       WHERE a.id = m.attempt_id AND a.client_slug = :c AND a.account_ref = ANY(:refs)
         AND (m.recipient <> '' OR m.subject IS NOT NULL OR m.body <> '')""",
    # A reply stays as a fact (an answer, an opt-out or not); its words go.
    """UPDATE outreach.replies r SET body = ''
       FROM outreach.attempts a
       WHERE a.id = r.attempt_id AND a.client_slug = :c AND a.account_ref = ANY(:refs) AND r.body <> ''""",
    # An operator's note on a hold is free text about the person.
    """UPDATE outreach.legal_holds SET note = NULL
       WHERE client_slug = :c AND account_ref = ANY(:refs) AND note IS NOT NULL""",
]


async def theirs(s: AsyncSession, client: str, debtor_ref: UUID, account_refs: list[str], *, lock: bool
                 ) -> tuple[list[str], list[str]]:
    """The person's accounts here and the id numbers they held: the accounts named, those kept under their
    pseudonym, and those of the same id number (the same person placed before pseudonyms, #19)."""
    locking = " FOR UPDATE" if lock else ""
    found = (await s.execute(sql(
        f"""SELECT account_ref, debtor_id FROM outreach.accounts
           WHERE client_slug = :c AND (account_ref = ANY(:refs) OR debtor_ref = :ref){locking}"""),
        {"c": client, "refs": account_refs, "ref": debtor_ref})).all()
    ids = sorted({r.debtor_id for r in found if r.debtor_id})
    refs = {r.account_ref for r in found}
    if ids:
        refs |= {r[0] for r in await s.execute(sql(
            f"SELECT account_ref FROM outreach.accounts WHERE client_slug = :c AND debtor_id = ANY(:ids){locking}"),
            {"c": client, "ids": ids})}
    return sorted(refs), ids


async def erase_person(s: AsyncSession, client: str, debtor_ref: UUID, account_refs: list[str], now: dt.datetime
                       ) -> Erased:
    """Erases the person of `debtor_ref` at `client` (their accounts and id numbers as `theirs` finds them)."""
    refs, ids = await theirs(s, client, debtor_ref, account_refs, lock=True)
    params = {"c": client, "refs": refs, "ids": ids, "ref": debtor_ref}
    rows = 0
    for statement in ERASING:
        rows += len((await s.execute(sql(statement + " RETURNING 1"), params)).all())
    await s.execute(sql(
        "INSERT INTO outreach.erased_debtors (client_slug, debtor_ref, erased_at) VALUES (:c, :ref, :now) "
        "ON CONFLICT DO NOTHING"), {"c": client, "ref": debtor_ref, "now": now})
    return Erased(refs, rows)


# What an access request shows of the person (debtor.access_requested): the rows an erasure blanks or deletes, with
# the values it would take (:refs and :ids as for ERASING). Contacts' id numbers are the person's own, shown once
# with their account copy; consent evidence, attempts and the trail hold none.
HELD = """
    SELECT 'account' AS kind, account_ref, NULL::timestamptz AS at, jsonb_strip_nulls(jsonb_build_object(
               'id_number', nullif(debtor_id, ''), 'full_name', nullif(full_name, ''),
               'phones', nullif(array_to_string(phones, ', '), ''), 'email', email, 'address', address,
               'city', city)) AS v
        FROM outreach.accounts WHERE client_slug = :c AND account_ref = ANY(:refs)
          AND (debtor_id <> '' OR full_name <> '' OR phones <> '{}' OR email IS NOT NULL OR address IS NOT NULL
               OR city IS NOT NULL)
    UNION ALL
    SELECT 'whatsapp_inbound', NULL, w.received_at, jsonb_strip_nulls(jsonb_build_object(
               'sender', nullif(w.sender, ''), 'body', nullif(w.body, ''), 'answer', w.answer))
        FROM outreach.whatsapp_inbound w WHERE w.client_slug = :c
          AND (w.account_refs && CAST(:refs AS text[])
               OR w.sender = ANY(ARRAY(SELECT unnest(a.phones) FROM outreach.accounts a
                                       WHERE a.client_slug = :c AND a.account_ref = ANY(:refs))))
          AND (w.sender <> '' OR w.body <> '' OR w.answer IS NOT NULL)
    UNION ALL
    SELECT 'opt_out', NULL, opted_out_at, jsonb_build_object('id_number', debtor_id, 'channel', channel,
                                                             'source', source)
        FROM outreach.opt_outs WHERE client_slug = :c AND debtor_id = ANY(:ids)
    UNION ALL
    SELECT 'do_not_contact', NULL, added_at, jsonb_build_object('id_number', debtor_id, 'reason', reason)
        FROM outreach.do_not_contact WHERE client_slug = :c AND debtor_id = ANY(:ids)
    UNION ALL
    SELECT 'invalid_contact_point', NULL, found_at, jsonb_build_object('id_number', debtor_id, 'channel', channel,
                                                                       'point', point)
        FROM outreach.invalid_contact_points WHERE client_slug = :c AND debtor_id = ANY(:ids)
    UNION ALL
    SELECT 'outgoing', a.account_ref, a.sent_at, jsonb_strip_nulls(jsonb_build_object(
               'channel', a.channel, 'recipient', m.recipient, 'subject', m.subject, 'body', m.body))
        FROM outreach.outgoing m JOIN outreach.attempts a ON a.id = m.attempt_id
        WHERE a.client_slug = :c AND a.account_ref = ANY(:refs)
    UNION ALL
    SELECT 'sent', a.account_ref, m.sent_at, jsonb_strip_nulls(jsonb_build_object(
               'channel', m.channel, 'recipient', nullif(m.recipient, ''), 'subject', m.subject,
               'body', nullif(m.body, '')))
        FROM outreach.sandbox_messages m JOIN outreach.attempts a ON a.id = m.attempt_id
        WHERE a.client_slug = :c AND a.account_ref = ANY(:refs)
          AND (m.recipient <> '' OR m.subject IS NOT NULL OR m.body <> '')
    UNION ALL
    SELECT 'reply', a.account_ref, r.received_at, jsonb_build_object('channel', r.channel, 'body', r.body)
        FROM outreach.replies r JOIN outreach.attempts a ON a.id = r.attempt_id
        WHERE a.client_slug = :c AND a.account_ref = ANY(:refs) AND r.body <> ''
    UNION ALL
    SELECT 'hold_note', account_ref, set_at, jsonb_build_object('hold', hold, 'note', note)
        FROM outreach.legal_holds WHERE client_slug = :c AND account_ref = ANY(:refs) AND note IS NOT NULL
    ORDER BY at NULLS FIRST, kind, account_ref"""


async def held(s: AsyncSession, client: str, debtor_ref: UUID, account_refs: list[str]) -> list[HeldRecord]:
    """Every record of the person's data in outreach's tables, with its values as held."""
    refs, ids = await theirs(s, client, debtor_ref, account_refs, lock=False)
    rows = await s.execute(sql(HELD), {"c": client, "refs": refs, "ids": ids})
    return [HeldRecord(kind=r.kind, account_ref=r.account_ref, at=r.at, values={k: str(v) for k, v in r.v.items()})
            for r in rows]


async def give_debtor(s: AsyncSession, client: str, account_ref: str, debtor_ref: UUID) -> None:
    """An account kept without its debtor's pseudonym (placed before #19) gets it."""
    await s.execute(sql(
        "UPDATE outreach.accounts SET debtor_ref = :ref WHERE client_slug = :c AND account_ref = :a "
        "AND debtor_ref IS NULL"), {"c": client, "a": account_ref, "ref": debtor_ref})
