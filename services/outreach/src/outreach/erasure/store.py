"""Erasure's statements: every plaintext copy of one person's data in schema outreach blanked, or deleted where the
row is nothing but that data, in the caller's transaction; what stays is pseudonymous (account refs, attempts,
amounts, dates, the debtor_ref) and the consent evidence, which holds no identifier."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.db import sql


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


async def erase_person(s: AsyncSession, client: str, debtor_ref: UUID, account_refs: list[str], now: dt.datetime
                       ) -> Erased:
    """Erases the person of `debtor_ref` at `client`: the accounts named, those kept under their pseudonym, and
    those of the same id number (the same person placed before pseudonyms, #19)."""
    found = (await s.execute(sql(
        """SELECT account_ref, debtor_id FROM outreach.accounts
           WHERE client_slug = :c AND (account_ref = ANY(:refs) OR debtor_ref = :ref)
           FOR UPDATE"""), {"c": client, "refs": account_refs, "ref": debtor_ref})).all()
    ids = sorted({r.debtor_id for r in found if r.debtor_id})
    refs = {r.account_ref for r in found}
    if ids:
        refs |= {r[0] for r in await s.execute(sql(
            "SELECT account_ref FROM outreach.accounts WHERE client_slug = :c AND debtor_id = ANY(:ids) FOR UPDATE"),
            {"c": client, "ids": ids})}
    params = {"c": client, "refs": sorted(refs), "ids": ids, "ref": debtor_ref}
    rows = 0
    for statement in ERASING:
        rows += len((await s.execute(sql(statement + " RETURNING 1"), params)).all())
    await s.execute(sql(
        "INSERT INTO outreach.erased_debtors (client_slug, debtor_ref, erased_at) VALUES (:c, :ref, :now) "
        "ON CONFLICT DO NOTHING"), {"c": client, "ref": debtor_ref, "now": now})
    return Erased(sorted(refs), rows)


async def give_debtor(s: AsyncSession, client: str, account_ref: str, debtor_ref: UUID) -> None:
    """An account kept without its debtor's pseudonym (placed before #19) gets it."""
    await s.execute(sql(
        "UPDATE outreach.accounts SET debtor_ref = :ref WHERE client_slug = :c AND account_ref = :a "
        "AND debtor_ref IS NULL"), {"c": client, "a": account_ref, "ref": debtor_ref})
