"""Erasure: a person's data erased from every outreach table when reporting asks (debtor.erasure_requested) and
again when the erasure completes (debtor.erased); the pseudonym of an account placed before #19 recorded."""
