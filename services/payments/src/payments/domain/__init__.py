"""Pure rules of payments: the ledger arithmetic and matching."""
