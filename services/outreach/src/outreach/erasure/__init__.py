"""Erasure: a person's data erased from every outreach table when reporting asks (debtor.erasure_requested)."""
