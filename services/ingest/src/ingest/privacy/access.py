"""A person's access request (debtor.access_requested): every record of their data in ingest's tables (their
accounts as the client company's files stated them, rejected rows and warnings whose cells name them in any
spelling, the first row an upload refused for its columns shows, operators' reasons for rectifying them), sealed
with their key, answered as ingest's part (debtor.access_answered). The same rows an erasure reaches, found the
same way."""

from __future__ import annotations

from ingest.domain.identifiers import Identifiers
from ingest.privacy import store
from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.events import DebtorAccessAnswered, DebtorAccessRequested
from recaudo_common.personal_data import HeldPart, Vault, seal_part


async def on_access_requested(event: DebtorAccessRequested, ctx: HandlerContext, *, vault: Vault) -> None:
    s, client, debtor_ref = ctx.session, ctx.envelope.client, event.debtor_ref
    accounts = await store.person_on_accounts(s, client, debtor_ref, event.account_refs, lock=False)
    names = [a.full_name for a in accounts if a.full_name]
    person = Identifiers.of(id_numbers=[a.debtor_id for a in accounts if a.debtor_id],
                            phones=[p for a in accounts for p in a.phones],
                            emails=[a.email for a in accounts if a.email], names=names)
    issues = await store.issues_naming(s, client, person, person.name_spellings(names))
    records = [*await store.held_on_accounts(s, client, debtor_ref, event.account_refs),
               *await store.held_in_issues(s, issues),
               *await store.held_in_refusals(s, await store.refusals_naming(s, client, person)),
               *await store.held_in_rectifications(s, client, debtor_ref)]
    key = await vault.key_of(s, client, debtor_ref)
    part = None if key is None else seal_part(key, client, debtor_ref, HeldPart(records=tuple(records)))
    await ctx.emit(DebtorAccessAnswered(access_id=event.access_id, debtor_ref=debtor_ref, service="ingest",
                                        part=part, records=len(records) if part else 0, answered_at=ctx.now))
