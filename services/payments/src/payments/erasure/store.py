"""The rows of payments' tables that hold a person's data in clear, found and erased (schema `payments`).

What is erased: the id number an account placed before #19 kept (accounts.debtor_id), the id number a payer gave
(payments.debtor_id), the fingerprints of what a gateway said (payments' and reversals' content_sha256, computed
over that id number: a row recorded before fingerprints were keyed holds a plain SHA-256, which a dictionary of id
numbers would find it again by), the fingerprints of the operator's requests that created their payments
(idempotency_keys' request_sha256, over the id number a payer gave: replaced by `erased`; a retry under such a key
is refused 409 `idempotency_key_unverifiable`), the reasons an operator typed for a reversal (free text about
the person's payment), the note an operator typed on a write-off of one of their accounts and the reason given
for reversing it (free text about the person), and the words a payment's method was given in when they are none
of the words its sources use for one (an operator's 'transferencia de Ana Gómez CC 1020304050': replaced by
`other`, what payment.applied said of it). What stays: amounts, dates, references, ids, a write-off's reason code,
a method in known words and the debtor's pseudonym, so every balance and total is unchanged."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from payments.domain.fingerprints import ERASED
from recaudo_common.accounts import is_active_obligation
from recaudo_common.db import sql
from recaudo_common.events.payment_methods import KNOWN_METHOD_WORDS
from recaudo_common.personal_data import HeldRecord

# A payment's method as payment_methods normalises it (its lower-case letters without accents, every run of other
# characters one `_`); a method whose words are none of KNOWN_METHOD_WORDS (:known) is free text about the payment.
_WORDS = ("btrim(regexp_replace(translate(lower(p.method), 'áàäâãéèëêíìïîóòöôõúùüûñç', "
          "'aaaaaeeeeiiiiooooouuuunc'), '[^a-z0-9]+', '_', 'g'), '_')")
FREE_TEXT_METHOD = f"(p.method IS NOT NULL AND {_WORDS} <> ALL(:known))"
KNOWN_LIST = sorted(KNOWN_METHOD_WORDS)


@dataclass(frozen=True)
class Erased:
    """How many rows of each table an erasure changed (0 everywhere when asked again)."""

    accounts: int
    payments: int
    reversals: int
    idempotency_keys: int
    write_offs: int

    @property
    def rows(self) -> int:
        return self.accounts + self.payments + self.reversals + self.idempotency_keys + self.write_offs


async def active_accounts(s: AsyncSession, client: str, debtor_ref: uuid.UUID, account_refs: Sequence[str]
                          ) -> list[str]:
    """The person's accounts (those named, and any other placed for them since) that are an active obligation,
    read under the row locks every ledger change takes, in the ledger's lock order: a chargeback, a reversal or
    an adjustment still being written is waited for and seen, and one that comes after waits for the erasure."""
    rows = await s.execute(sql(
        "SELECT account_ref, balance, status, recalled FROM payments.accounts WHERE client_slug = :c "
        "AND (account_ref = ANY(:refs) OR debtor_ref = :ref) ORDER BY client_slug, account_ref FOR UPDATE"),
        {"c": client, "refs": list(account_refs), "ref": debtor_ref})
    return [r.account_ref for r in rows
            if is_active_obligation(balance=r.balance, status=r.status, recalled=r.recalled)]


# What an access request shows of the person (debtor.access_requested): the same rows an erasure blanks, with the
# values it would blank (:refs the person's accounts here, found as an erasure finds them).
HELD = """
    WITH theirs AS (
        SELECT payment_id AS id FROM payments.ledger_entries
        WHERE client_slug = :c AND account_ref = ANY(:refs) AND payment_id IS NOT NULL
        UNION SELECT id FROM payments.payments WHERE client_slug = :c AND status = 'unmatched'
            AND (claimed_account_ref = ANY(:refs) OR (payer_ref IS NULL AND debtor_id = ANY(:ids)))
        UNION SELECT id FROM payments.payments WHERE client_slug = :c AND payer_ref = :ref)
    SELECT 'account' AS kind, account_ref, NULL::timestamptz AS at, jsonb_build_object('id_number', debtor_id) AS v
        FROM payments.accounts WHERE client_slug = :c AND account_ref = ANY(:refs) AND debtor_id IS NOT NULL
    UNION ALL
    SELECT 'payment', coalesce(p.account_ref, p.claimed_account_ref), p.paid_at,
           jsonb_build_object('payer_id_number', p.debtor_id)
        FROM payments.payments p JOIN theirs USING (id) WHERE p.debtor_id IS NOT NULL
    UNION ALL
    SELECT 'payment_method', coalesce(p.account_ref, p.claimed_account_ref), p.paid_at,
           jsonb_build_object('method', p.method)
        FROM payments.payments p JOIN theirs USING (id) WHERE """ + FREE_TEXT_METHOD + """
    UNION ALL
    SELECT 'reversal_reason', p.account_ref, r.reversed_at, jsonb_build_object('reason', r.reason)
        FROM payments.reversals r JOIN payments.payments p ON p.id = r.payment_id JOIN theirs ON theirs.id = p.id
        WHERE r.reason IS NOT NULL
    UNION ALL
    SELECT 'write_off_note', w.account_ref, w.written_off_at,
           jsonb_strip_nulls(jsonb_build_object('note', w.note, 'reversal_reason', w.reversal_reason))
        FROM payments.write_offs w WHERE w.client_slug = :c AND w.account_ref = ANY(:refs)
          AND (w.note IS NOT NULL OR w.reversal_reason IS NOT NULL)
    ORDER BY at NULLS FIRST, kind, account_ref"""


async def held(s: AsyncSession, *, client: str, debtor_ref: uuid.UUID, account_refs: Sequence[str],
               payer_ids: Sequence[str]) -> list[HeldRecord]:
    """Every record of the person's data in payments' tables: an account's id number kept from before #19, the id
    number a payer gave on a payment still in suspense, the words a payment of theirs was said to be made by when
    they are free text, an operator's reason for reversing their payment, and an operator's note on a write-off of
    their account and the reason for reversing it."""
    refs = {*account_refs, *(r[0] for r in await s.execute(sql(
        "SELECT account_ref FROM payments.accounts WHERE client_slug = :c AND debtor_ref = :ref"),
        {"c": client, "ref": debtor_ref}))}
    rows = await s.execute(sql(HELD), {"c": client, "ref": debtor_ref, "refs": sorted(refs), "ids": list(payer_ids),
                                       "known": KNOWN_LIST})
    return [HeldRecord(kind=r.kind, account_ref=r.account_ref, at=r.at, values={k: str(v) for k, v in r.v.items()})
            for r in rows]


async def unfound_payer_ids(s: AsyncSession, client: str) -> list[str]:
    """The id numbers payers gave that found no one when they paid, on payments still in suspense (the only
    payments that keep the number): some may be this person's, placed since."""
    rows = await s.execute(sql(
        "SELECT DISTINCT debtor_id FROM payments.payments WHERE client_slug = :c AND status = 'unmatched' "
        "AND payer_ref IS NULL AND debtor_id IS NOT NULL"), {"c": client})
    return [r[0] for r in rows]


async def erase(s: AsyncSession, *, client: str, debtor_ref: uuid.UUID, account_refs: Sequence[str],
                payer_ids: Sequence[str]) -> Erased:
    """Erases the person's data in clear from their accounts (by reference or pseudonym), from their payments
    (applied to or naming one of those accounts, or paid by them: found by their pseudonym or by one of
    `payer_ids`, the numbers they gave that found no one then), from those payments' reversals, from the
    Idempotency-Keys that created them and from their accounts' write-offs (the operator's note and reversal
    reason; the amount, reason code and dates stay), in one round trip. Only rows that still hold something are
    changed, so asking again changes nothing."""
    row = (await s.execute(sql(
        """WITH erased_accounts AS (
               UPDATE payments.accounts SET debtor_id = NULL, debtor_ref = coalesce(debtor_ref, :ref)
               WHERE client_slug = :c AND (account_ref = ANY(:refs) OR debtor_ref = :ref) AND debtor_id IS NOT NULL
               RETURNING 1),
           theirs AS (  -- each part on an index: the ledger by account, suspense, payers found
               SELECT payment_id AS id FROM payments.ledger_entries
               WHERE client_slug = :c AND account_ref = ANY(:refs) AND payment_id IS NOT NULL
               UNION SELECT id FROM payments.payments WHERE client_slug = :c AND status = 'unmatched'
                   AND (claimed_account_ref = ANY(:refs) OR (payer_ref IS NULL AND debtor_id = ANY(:ids)))
               UNION SELECT id FROM payments.payments WHERE client_slug = :c AND payer_ref = :ref),
           erased_payments AS (
               UPDATE payments.payments p SET debtor_id = NULL, content_sha256 = NULL,
                   method = CASE WHEN """ + FREE_TEXT_METHOD + """ THEN 'other' ELSE p.method END FROM theirs
               WHERE p.id = theirs.id AND (p.debtor_id IS NOT NULL OR p.content_sha256 IS NOT NULL
                                           OR """ + FREE_TEXT_METHOD + """)
               RETURNING 1),
           erased_reversals AS (
               UPDATE payments.reversals r SET reason = NULL, content_sha256 = NULL FROM theirs
               WHERE r.payment_id = theirs.id AND (r.reason IS NOT NULL OR r.content_sha256 IS NOT NULL)
               RETURNING 1),
           erased_keys AS (
               UPDATE payments.idempotency_keys k SET request_sha256 = :erased FROM theirs
               WHERE k.payment_id = theirs.id AND k.request_sha256 <> :erased
               RETURNING 1),
           erased_write_offs AS (
               UPDATE payments.write_offs SET note = NULL, reversal_reason = NULL
               WHERE client_slug = :c AND (note IS NOT NULL OR reversal_reason IS NOT NULL)
                 AND (account_ref = ANY(:refs) OR account_ref IN (
                     SELECT account_ref FROM payments.accounts WHERE client_slug = :c AND debtor_ref = :ref))
               RETURNING 1)
           SELECT (SELECT count(*) FROM erased_accounts) AS accounts,
                  (SELECT count(*) FROM erased_payments) AS payments,
                  (SELECT count(*) FROM erased_reversals) AS reversals,
                  (SELECT count(*) FROM erased_keys) AS idempotency_keys,
                  (SELECT count(*) FROM erased_write_offs) AS write_offs"""),
        {"c": client, "ref": debtor_ref, "refs": list(account_refs), "ids": list(payer_ids), "erased": ERASED,
         "known": KNOWN_LIST})).one()
    return Erased(accounts=int(row.accounts), payments=int(row.payments), reversals=int(row.reversals),
                  idempotency_keys=int(row.idempotency_keys), write_offs=int(row.write_offs))
