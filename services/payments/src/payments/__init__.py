"""Payments: the ledger (the one owner of an account's balance), matching, suspense, idempotency."""
