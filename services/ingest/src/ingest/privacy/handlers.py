"""Ingest's part in the data-protection duties: every account placed before pseudonyms gets its debtor's and has
it announced downstream (backfills), a person's erasure blanks every plaintext copy ingest keeps of them and
confirms it (and blanks it again when the erasure completes, for a restored database), and retention blanks the
raw cells of old rejected rows and drops the bytes of uploads never processed."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from itertools import groupby
from typing import TypeVar
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from ingest import store as uploads_store
from ingest.domain.identifiers import Identifiers
from ingest.domain.portfolio import identifies
from ingest.privacy import store
from ingest.records import UploadFailure
from ingest.store import outbox
from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.db import Database
from recaudo_common.events import AccountPseudonymised, DebtorErased, DebtorErasureConfirmed, DebtorErasureRequested
from recaudo_common.personal_data import LookupKind, Vault, seal

log = logging.getLogger("recaudo.ingest")
Clock = Callable[[], dt.datetime]
BACKFILL_BATCH = 1000
RAW_CELLS_PER_PASS = 10_000
Position = tuple[str, str]  # (client company, account_ref): where a backfill's walk is
T = TypeVar("T")


async def in_batches(db: Database, fetch: Callable[[AsyncSession, Position, int], Awaitable[list[T]]],
                     position: Callable[[T], Position], work: Callable[[AsyncSession, list[T]], Awaitable[int]],
                     *, batch: int) -> int:
    """A backfill's walk: `fetch` the next `batch` rows after the last position (client company, account), let
    `work` handle them in the same transaction, until none is left. Each batch commits alone, so a run stopped
    half-way resumes after the last batch it committed; the total `work` counted."""
    done, after = 0, ("", "")
    while True:
        async with db.transaction() as s:
            rows = await fetch(s, after, batch)
            if not rows:
                return done
            after = position(rows[-1])
            done += await work(s, rows)


async def give_every_account_a_person(db: Database, vault: Vault, *, clock: Clock, batch: int = BACKFILL_BATCH
                                      ) -> int:
    """Accounts placed before pseudonyms (#19 step B1) get their debtor's debtor_ref, found or created by id
    number as uploads do, and their phones and e-mail indexed: a batch per transaction, a few vault statements
    per client company and batch. Idempotent (an account with a debtor_ref is never touched); how many it gave.
    An id number with nothing to find a person by (no letter or digit, refused since) keeps none."""

    async def give(s: AsyncSession, accounts: list[tuple[str, store.PersonOnAccount]]) -> int:
        given = 0
        for client, of_client in groupby(accounts, key=lambda a: a[0]):
            found = [a for _, a in of_client if a.debtor_id is not None and identifies(a.debtor_id)]
            people = await vault.people_for(s, client, [a.debtor_id for a in found if a.debtor_id], clock())
            points: list[tuple[UUID, LookupKind, str]] = []
            refs: dict[str, UUID] = {}
            for account in found:
                assert account.debtor_id is not None
                ref = refs[account.account_ref] = people[account.debtor_id].debtor_ref
                points += [(ref, "phone", p) for p in account.phones]
                points += [(ref, "email", account.email)] if account.email else []
            await vault.index_many(s, client, points)
            await store.set_debtor_refs(s, client, refs)
            given += len(refs)
        return given

    return await in_batches(db, lambda s, after, limit: store.accounts_without_person(s, after=after, limit=limit),
                            lambda a: (a[0], a[1].account_ref), give, batch=batch)


async def announce_pseudonyms(db: Database, vault: Vault, *, clock: Clock, batch: int = BACKFILL_BATCH) -> int:
    """Every account whose copies downstream predate pseudonyms (placed and last stated by events in clear, before
    #19) is announced once: account.pseudonymised with its debtor's pseudonym and their data sealed with their
    key, so reporting can find and erase them and payments can forget the id number it kept. A batch per
    transaction, its events and marks committed together: run again or resumed after a crash, it announces only
    the rest; one key read per client company and batch. How many it announced. An account whose person's key is
    gone (erased, in a database restored from before the erasure) is left to the erasure's replay."""

    async def announce(s: AsyncSession, accounts: list[store.Unannounced]) -> int:
        announced, now = 0, clock()
        for client, of_client in groupby(accounts, key=lambda a: a.client):
            mine = list(of_client)
            keys = await vault.keys_of(s, client, [a.debtor_ref for a in mine])
            sealable = [a for a in mine if a.debtor_ref in keys]
            await outbox.add(s, [AccountPseudonymised(
                account_ref=a.person.account_ref, debtor_ref=a.debtor_ref,
                personal=seal(keys[a.debtor_ref], client, a.debtor_ref, a.person.personal_data()),
                has_phone=bool(a.person.phones), has_email=bool(a.person.email), pseudonymised_at=now,
            ).envelope(client=client, occurred_at=now) for a in sealable])
            await store.mark_announced(s, client, [a.person.account_ref for a in sealable], now)
            announced += len(sealable)
        return announced

    announced = await in_batches(db, lambda s, after, limit: store.accounts_unannounced(s, after=after, limit=limit),
                                 lambda a: (a.client, a.person.account_ref), announce, batch=batch)
    if announced:
        log.info("accounts placed before pseudonyms announced", extra={"fields": {"accounts": announced}})
    return announced


async def on_erasure_requested(event: DebtorErasureRequested, ctx: HandlerContext) -> None:
    """Erases every plaintext copy ingest keeps of the person for their client company, and confirms it in the
    same transaction (asked again: nothing left to erase, confirmed again)."""
    client = ctx.envelope.client
    erased = await erase_person(ctx, client, event.debtor_ref, event.account_refs)
    await ctx.emit(DebtorErasureConfirmed(erasure_id=event.erasure_id, debtor_ref=event.debtor_ref,
                                          service="ingest", erased_rows=erased, confirmed_at=ctx.now))
    log.info("erased a person's data", extra={"fields": {"client": client, "erasure": str(event.erasure_id),
                                                         "erased_rows": erased}})


async def on_erased(event: DebtorErased, ctx: HandlerContext) -> None:
    """The person's erasure completed: whatever ingest holds of them is erased again, and nothing is confirmed (no
    one waits for it). Ordinarily nothing is left; in a database restored from a backup older than the erasure
    (its consumers' offsets on the debtor topic reset to the backup's time) the copies it brought back go."""
    erased = await erase_person(ctx, ctx.envelope.client, event.debtor_ref, event.account_refs)
    if erased:
        log.info("an erasure was applied again (a restored database)",
                 extra={"fields": {"client": ctx.envelope.client, "erasure": str(event.erasure_id),
                                   "erased_rows": erased}})


async def erase_person(ctx: HandlerContext, client: str, debtor_ref: UUID, account_refs: list[str]) -> int:
    """The person's accounts keep their refs, amounts, dates and debtor_ref and lose their name, id number and type,
    phones, e-mail, address and the file's other columns; every rejected row or warning of the client company's
    uploads with a cell naming them (id number, a phone in any spelling, e-mail, name) loses its raw cells, and
    an upload refused for its columns whose first row (a file without its header row) names them loses it.

    Stored upload bytes need nothing here: an upload keeps its bytes only until its worker has read them (they
    are dropped when it completes or fails, and retention drops those of an upload never processed); an upload
    still waiting when the erasure comes is the client company stating the person again, after the erasure."""
    s = ctx.session
    accounts = await store.person_on_accounts(s, client, debtor_ref, account_refs)
    names = [a.full_name for a in accounts if a.full_name]
    person = Identifiers.of(id_numbers=[a.debtor_id for a in accounts if a.debtor_id],
                            phones=[p for a in accounts for p in a.phones],
                            emails=[a.email for a in accounts if a.email], names=names)
    erased = await store.erase_accounts(s, client, [a.account_ref for a in accounts])
    issues = await store.issues_naming(s, client, person, person.name_spellings(names))
    erased += await store.erase_first_rows(s, await store.refusals_naming(s, client, person))
    return erased + await store.erase_issues(s, issues, "request")


async def expire_raw_cells(db: Database, *, clock: Clock, retention: dt.timedelta,
                           rows_per_pass: int = RAW_CELLS_PER_PASS) -> bool:
    """One pass of retention: the raw cells of up to `rows_per_pass` rejected rows and warnings of an upload that
    finished more than `retention` ago are blanked, and an upload received that long ago and never processed is
    failed and its stored bytes dropped. True when there may be more to do at once."""
    now = clock()
    cutoff = now - retention
    async with db.transaction() as s:
        stale = await store.stale_uploads(s, cutoff)
        for portfolio_id in stale:
            portfolio = await uploads_store.get_portfolio(s, portfolio_id)
            assert portfolio is not None
            await uploads_store.finish_portfolio(s, portfolio_id, status="failed", counts=portfolio.tally(), now=now,
                                                 failure=UploadFailure("upload_expired", EXPIRED))
            await uploads_store.drop_chunks(s, portfolio_id)
    async with db.transaction() as s:
        due = await store.upload_with_raw_cells_due(s, cutoff)
        if due is None:
            return bool(stale)
        blanked = await store.expire_raw_cells(s, due, limit=rows_per_pass)
        if blanked < rows_per_pass:
            await store.mark_raw_cells_expired(s, due, now)
    return True


EXPIRED = ("this upload waited longer than the retention of stored files without being processed; its file was "
           "deleted (it holds personal data). Send it again.")
