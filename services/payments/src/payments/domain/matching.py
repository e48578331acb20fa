"""Which account a payment belongs to: by account_ref (or the account a signed payment-link token names),
else by debtor_id when the debtor has one open account; otherwise the suspense queue (never dropped)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Match:
    account_ref: str | None
    reason: str  # how it matched, or why it did not


def match_payment(*, account_ref: str | None, known_account: bool, debtor_id: str | None,
                  debtor_open_accounts: list[str]) -> Match:
    if account_ref and known_account:
        return Match(account_ref, "account_ref")
    if debtor_id and len(debtor_open_accounts) == 1:
        return Match(debtor_open_accounts[0], "debtor_id")
    if account_ref:
        return Match(None, "unknown_account_ref")
    if debtor_id and len(debtor_open_accounts) > 1:
        return Match(None, "debtor_has_several_open_accounts")
    if debtor_id:
        return Match(None, "unknown_debtor_id")
    return Match(None, "no_reference")
