"""The accounts a search finds (schema `ingest`, table accounts): by reference, id number, phone or name, within one
client company, by account reference after the last one shown (keyset)."""

from __future__ import annotations

import json

from sqlalchemy.ext.asyncio import AsyncSession

from ingest.account_search.domain import ACCENTED, UNACCENTED, AccountQuery, FoundAccount
from recaudo_common.db import sql

# A statement's bound values: texts (the search's spellings, a JSON array of one phone) and the page's numbers.
Params = dict[str, str | int | None]
# The same expressions as the indexes of migrations 0017 and 0018, so the planner uses them.
REFERENCE = "upper(account_ref)"
ID_NUMBER = "regexp_replace(upper(debtor_id), '[^0-9A-Z]', '', 'g')"
PHONES = "(stated -> 'phones')"
# The name's words, accents folded, lower case, anything but letters a space; a leading space so that every word,
# the first too, starts after one.
NAME = (f"(' ' || regexp_replace(lower(translate(stated ->> 'full_name', '{ACCENTED}', '{UNACCENTED}')), "
        "'[^a-z]+', ' ', 'g'))")


def like_prefix(text_: str) -> str:
    """A LIKE pattern of what begins with the text, its own % and _ taken literally."""
    return text_.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _matches(query: AccountQuery) -> tuple[str, Params]:
    """The query's ways of finding an account, OR'ed, and their parameters."""
    # Capitals by the database's own upper(), as the index has them (the escapes have no capitals).
    ways = [f"{REFERENCE} LIKE upper(:ref) ESCAPE '\\'"]
    params: Params = {"ref": like_prefix(query.reference)}
    if query.id_number:
        ways.append(f"{ID_NUMBER} = :id_number")
        params["id_number"] = query.id_number
    if query.phone:
        ways.append(f"{PHONES} @> CAST(:phones AS jsonb)")
        params["phones"] = json.dumps([query.phone])
    if query.name_words:
        # Every word typed begins one of the name's words, in any order ("gomez maria" finds "María Gómez").
        ways.append("(" + " AND ".join(f"{NAME} LIKE :word{i}" for i in range(len(query.name_words))) + ")")
        params |= {f"word{i}": f"% {word}%" for i, word in enumerate(query.name_words)}
    return " OR ".join(ways), params


ACCOUNT_COLUMNS = ("account_ref, stated ->> 'full_name' AS debtor_name, debtor_id AS id_number, "
                   "stated ->> 'debtor_id_type' AS id_type, status, balance, days_past_due, placed_at")


def search_sql(client: str, query: AccountQuery, *, after: str | None, limit: int) -> tuple[str, Params]:
    """The search's statement and parameters (its plan is checked by the tests: indexes, no scan)."""
    matches, params = _matches(query)
    after_clause = "AND account_ref > :after" if after is not None else ""
    return (f"SELECT {ACCOUNT_COLUMNS} FROM ingest.accounts WHERE client_slug = :c AND ({matches}) {after_clause} "
            "ORDER BY account_ref LIMIT :n", {**params, "c": client, "after": after, "n": limit})


async def find_accounts(s: AsyncSession, client: str, query: AccountQuery, *, after: str | None, limit: int
                        ) -> list[FoundAccount]:
    statement, params = search_sql(client, query, after=after, limit=limit)
    rows = (await s.execute(sql(statement), params)).mappings().all()
    return [FoundAccount(**r) for r in rows]


async def one_account(s: AsyncSession, client: str, account_ref: str) -> FoundAccount | None:
    """The account by its exact reference, as a search shows it."""
    row = (await s.execute(sql(
        f"SELECT {ACCOUNT_COLUMNS} FROM ingest.accounts WHERE client_slug = :c AND account_ref = :r"),
        {"c": client, "r": account_ref})).mappings().first()
    return FoundAccount(**row) if row else None
