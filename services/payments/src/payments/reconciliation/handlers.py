"""Reconciliation's handlers: one gateway account's local day, the gateway's documented API asked outside any
transaction, compared with the ledger and kept as the day's report; and the periodic run of yesterday for every
account (a failed day is run again at the next period)."""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from payments import store as ledger
from payments.gateways import lookups
from payments.gateways import store as gateways
from payments.gateways.gateway_http import GatewayUnreachable
from payments.gateways.store import GatewayAccount
from payments.reconciliation import gateway_apis, store
from payments.reconciliation.domain import Comparison, Reported, compare, day_bounds, yesterday
from payments.reconciliation.schemas import DifferenceOut, ReconciliationOut, ReportStatus
from payments.settings import PaymentsSettings
from recaudo_common.client_copy import get_client
from recaudo_common.clock import local_today
from recaudo_common.db import Database
from recaudo_common.domain_errors import Invalid, NotFound
from recaudo_common.personal_data import MasterKeyring

log = logging.getLogger("recaudo.payments")
# The credential each kind's reconciliation needs beyond what notifications do (None: nothing more).
NEEDS = {"stripe": "secret_key", "payu": "api_login", "mercadopago": None, "wompi": None}


async def reconcile(db: Database, settings: PaymentsSettings, keyring: MasterKeyring, *, client: str, name: str,
                    day: dt.date, now: dt.datetime) -> ReconciliationOut:
    """Runs (or runs again) the account's reconciliation of `day`, the client company's local day, and keeps it."""
    async with db.transaction() as s:
        account = await gateways.account_of(s, keyring, client, name)
        copy = await get_client(s, ledger.SCHEMA, client)
    if account is None or copy is None:
        raise NotFound(f"gateway account {name!r}")
    if day >= local_today(copy.timezone, now):
        raise Invalid("day_not_over", f"{day} is not over yet in {copy.timezone}: only a past day is reconciled")
    start, end = day_bounds(day, copy.timezone)
    report = await _run(db, settings, account, day=day, start=start, end=end, now=now)
    async with db.transaction() as s:
        await store.save_report(s, client=client, report=report)
    if report.status == "failed":
        log.warning("gateway reconciliation failed", extra={"fields": {"gateway": account.ledger_key,
                                                                        "day": str(day), "reason": report.reason}})
    return report


async def report(db: Database, *, client: str, name: str, day: dt.date) -> ReconciliationOut:
    async with db.transaction() as s:
        found = await store.report_of(s, client, name, day)
    if found is None:
        raise NotFound(f"reconciliation of {name!r} for {day}")
    return found


async def _run(db: Database, settings: PaymentsSettings, account: GatewayAccount, *, day: dt.date,
               start: dt.datetime, end: dt.datetime, now: dt.datetime) -> ReconciliationOut:
    key = account.ledger_key

    def out(status: ReportStatus, reason: str | None = None, found: Comparison | None = None) -> ReconciliationOut:
        c = found or Comparison()
        return ReconciliationOut(
            id=uuid.uuid4(), account=account.name, kind=account.kind, day=day, status=status, reason=reason,
            window_start=start, window_end=end, reported=c.reported, approved_there=c.approved_there,
            approved_there_total=c.approved_there_total, applied_here=c.applied_here,
            applied_here_total=c.applied_here_total, ran_at=now,
            differences=[DifferenceOut.model_validate(d, from_attributes=True) for d in c.differences])

    needed = NEEDS[account.kind]
    if needed is not None and account.optional_secret(needed) is None:
        return out("not_configured", f"{account.kind} reconciliation needs the account's {needed}")
    async with db.transaction() as s:
        applied = await store.applied_between(s, key, start, end)
        notified = await store.notified_between(s, key, start, end)
    try:
        reported = await _reported(settings, account, start=start, end=end,
                                   asked=sorted({*notified, *(h.gateway_payment_id for h in applied)}))
    except GatewayUnreachable as e:
        return out("failed", str(e))
    async with db.transaction() as s:
        held = await store.held_by_ids(s, key, [r.gateway_payment_id for r in reported])
    found = compare(reported, held, applied)
    return out("differences" if found.differences else "clean", found=found)


async def _reported(settings: PaymentsSettings, account: GatewayAccount, *, start: dt.datetime, end: dt.datetime,
                    asked: list[str]) -> list[Reported]:
    timeout_s = settings.gateway_api_timeout_s
    if account.kind == "mercadopago":
        return await gateway_apis.mercadopago_day(api_base_url=account.settings["api_base_url"],
                                                  access_token=account.secret("access_token"), start=start, end=end,
                                                  timeout_s=timeout_s)
    if account.kind == "stripe":
        return await gateway_apis.stripe_day(base_url=settings.stripe_api_base_url,
                                             secret_key=account.secret("secret_key"), start=start, end=end,
                                             timeout_s=timeout_s)
    if account.kind == "payu":
        references = [r for r in asked if not r.startswith("attempt:")]
        return await gateway_apis.payu_orders(url=settings.payu_reports_api_url, api_login=account.secret("api_login"),
                                              api_key=account.secret("api_key"), references=references,
                                              test=False, timeout_s=timeout_s)
    base = lookups.wompi_base_url(account.settings["public_key"], settings.wompi_api_base_url)
    return await gateway_apis.wompi_transactions(base_url=base, transaction_ids=asked, timeout_s=timeout_s)


async def reconcile_yesterday(db: Database, settings: PaymentsSettings, keyring: MasterKeyring, *,
                              now: dt.datetime) -> None:
    """Every gateway account's yesterday (in its client company's zone) not reconciled yet, or failed: run."""
    async with db.transaction() as s:
        day_of: dict[tuple[str, str], dt.date] = {}
        for client, name in await store.accounts(s):
            copy = await get_client(s, ledger.SCHEMA, client)
            if copy is not None:
                day_of[(client, name)] = yesterday(now, copy.timezone)
        done = await store.settled_days(s, day_of) if day_of else set()
    for (client, name), day in sorted(day_of.items()):
        if (client, name) in done:
            continue
        try:
            await reconcile(db, settings, keyring, client=client, name=name, day=day, now=now)
        except Exception:  # one account's trouble (a credential that no longer opens) never stops the others
            log.exception("gateway reconciliation could not run", extra={"fields": {"client": client,
                                                                                    "account": name}})
